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

    /// viewer < operator < admin.
    public static func < (a: Role, b: Role) -> Bool { a.rawValue < b.rawValue }
}

/// The kind of credential a caller presented, as the contract spells it (`auth_type`).
public struct AuthType: Sendable, Hashable, RawRepresentable, CustomStringConvertible {
    enum Value: String, Sendable { case jwt, apiKey = "api_key" }
    let value: Value
    init(_ value: Value) { self.value = value }
    /// Parses the contract's spelling (`jwt`, `api_key`); nil for anything else.
    public init?(rawValue: String) {
        guard let v = Value(rawValue: rawValue) else { return nil }
        value = v
    }
    /// The contract's spelling: `jwt` or `api_key`.
    public var rawValue: String { value.rawValue }
    /// The same as ``rawValue``.
    public var description: String { rawValue }
    /// A JSON Web Token.
    public static let jwt = AuthType(.jwt)
    /// An API key (`csk_…`).
    public static let apiKey = AuthType(.apiKey)
}

/// Who is calling: the identity an ``AuthProvider`` established for a connection.
public struct Principal: Sendable, Equatable {
    /// The user (JWT `user_id`) or the API key id.
    public var userID: String
    /// The caller's role.
    public var role: Role
    /// How the caller authenticated.
    public var authType: AuthType
    /// When the credential expires, in seconds since the Unix epoch: the token's own `exp`,
    /// as clients are told; nil for never.
    public var expiresAt: Double?
    /// Until when the session is honoured: ``expiresAt`` plus the provider's clock-skew
    /// tolerance (a tolerance, not a promise, so it is never reported).
    public var validUntil: Double?

    /// A caller's identity; `validUntil` defaults to `expiresAt`.
    public init(userID: String, role: Role, authType: AuthType, expiresAt: Double?, validUntil: Double? = nil) {
        self.userID = userID
        self.role = role
        self.authType = authType
        self.expiresAt = expiresAt
        self.validUntil = validUntil ?? expiresAt
    }

    /// Whether the session is still honoured at `now`.
    public func isValid(at now: Double) -> Bool { (validUntil ?? .infinity) > now }
}

/// A capability: checks credentials (JWT, API keys) and says who the caller is.
public protocol AuthProvider: AnyObject, Sendable {
    /// Verifies `token`; `type` says which kind it must be (nil: decide from its shape).
    /// Throws `-32001` with `reason` `auth_failed` or `token_expired` (and a `detail` naming the
    /// rule that refused it) for a credential it rejects.
    func authenticate(token: String, type: AuthType?) async throws -> Principal
}

/// An ``AuthProvider`` that can also mint credentials of its own: `camera-service --demo`
/// prints one per role from the first provider that is one.
public protocol CredentialIssuer: AnyObject, Sendable {
    /// A credential this provider will accept for `user` with `role`, valid for `seconds`.
    func issueCredential(user: String, role: Role, validFor seconds: Double) throws -> String
}
