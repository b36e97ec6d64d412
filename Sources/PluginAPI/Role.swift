/// Client roles, ordered viewer < operator < admin.
@frozen
public enum Role: Int, Sendable, Comparable, CaseIterable {
    /// May read state: camera lists, files, streams.
    case viewer = 1
    /// May also act: snapshots, recordings, streams.
    case `operator` = 2
    /// May also administer: storage, retention, metrics, status.
    case admin = 3

    /// The role's name as the contract spells it.
    public var name: String {
        switch self {
        case .viewer: return "viewer"
        case .operator: return "operator"
        case .admin: return "admin"
        }
    }

    /// Parses a contract role name (exact, lower case).
    public init?(name: String) {
        switch name {
        case "viewer": self = .viewer
        case "operator": self = .operator
        case "admin": self = .admin
        default: return nil
        }
    }

    /// The permissions reported for this role.
    public var permissions: [String] {
        switch self {
        case .viewer: return ["view"]
        case .operator: return ["view", "control"]
        case .admin: return ["view", "control", "admin"]
        }
    }

    public static func < (a: Role, b: Role) -> Bool { a.rawValue < b.rawValue }
}

/// Who is calling: the identity an ``AuthProvider`` established for a connection.
public struct Principal: Sendable, Equatable {
    /// The user (JWT `user_id`) or the API key id.
    public var userID: String
    /// The caller's role.
    public var role: Role
    /// How the caller authenticated: `jwt` or `api_key`.
    public var authType: String
    /// When the credential stops being valid, in seconds since the Unix epoch; nil for never.
    public var expiresAt: Double?

    public init(userID: String, role: Role, authType: String, expiresAt: Double?) {
        self.userID = userID
        self.role = role
        self.authType = authType
        self.expiresAt = expiresAt
    }
}
