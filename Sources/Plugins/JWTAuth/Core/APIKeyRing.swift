import Codecs
import PluginAPI

/// One API key as stored: never the key itself, only a salted SHA-256 of its secret part.
public struct APIKeyRecord: Sendable, Equatable {
    /// Public identifier (8 hex digits), also embedded in the key: `csk_<id>_<secret>`.
    public var id: String
    public var role: Role
    public var salt: String
    public var hash: String
    public var createdAt: Double
    public var expiresAt: Double?
    public var description: String
    /// When it was revoked (kept for the audit trail), nil while valid.
    public var revokedAt: Double?
}

/// Why a key was refused (the reason never contains the key).
public enum APIKeyRejection: Error, Sendable, Equatable, CustomStringConvertible {
    case malformed, unknown, revoked, expired
    public var description: String {
        switch self {
        case .malformed: return "malformed API key"
        case .unknown: return "unknown API key"
        case .revoked: return "API key revoked"
        case .expired: return "API key expired"
        }
    }
}

/// The set of API keys: parse/serialize the key file, mint keys, verify them. Pure: no I/O,
/// the clock and randomness come from the caller or OpenSSL.
public struct APIKeyRing: Sendable, Equatable {
    public static let prefix = "csk_"
    public private(set) var records: [APIKeyRecord] = []

    public init(records: [APIKeyRecord] = []) { self.records = records }

    /// Mints a key; the returned key string is shown once and never stored.
    public mutating func add(role: Role, expiresAt: Double?, description: String, now: Double) -> (key: String, record: APIKeyRecord) {
        var id = Crypto.hex(Crypto.randomBytes(4))
        while records.contains(where: { $0.id == id }) { id = Crypto.hex(Crypto.randomBytes(4)) }
        let secret = Base64.encode(Crypto.randomBytes(32), urlSafe: true)
        let salt = Crypto.hex(Crypto.randomBytes(16))
        let record = APIKeyRecord(id: id, role: role, salt: salt, hash: APIKeyRing.digest(salt: salt, secret: secret), createdAt: now,
                                  expiresAt: expiresAt, description: description, revokedAt: nil)
        records.append(record)
        return ("\(APIKeyRing.prefix)\(id)_\(secret)", record)
    }

    /// Marks a key revoked; false when there is no such (unrevoked) key.
    public mutating func revoke(id: String, now: Double) -> Bool {
        guard let i = records.firstIndex(where: { $0.id == id && $0.revokedAt == nil }) else { return false }
        records[i].revokedAt = now
        return true
    }

    /// Who `key` belongs to.
    public func verify(_ key: String, now: Double) throws(APIKeyRejection) -> Principal {
        guard key.hasPrefix(APIKeyRing.prefix), key.utf8.count <= 128 else { throw .malformed }
        let body = key.dropFirst(APIKeyRing.prefix.count)
        guard let sep = body.firstIndex(of: "_") else { throw .malformed }
        let id = String(body[..<sep]), secret = String(body[body.index(after: sep)...])
        guard id.utf8.count == 8, !secret.isEmpty else { throw .malformed }
        guard let record = records.first(where: { $0.id == id }) else { throw .unknown }
        let expected = Array(record.hash.utf8), actual = Array(APIKeyRing.digest(salt: record.salt, secret: secret).utf8)
        guard Crypto.constantTimeEqual(expected, actual) else { throw .unknown }
        if record.revokedAt != nil { throw .revoked }
        if let exp = record.expiresAt, exp <= now { throw .expired }
        return Principal(userID: "api_key:\(record.id)", role: record.role, authType: .apiKey, expiresAt: record.expiresAt)
    }

    static func digest(salt: String, secret: String) -> String {
        Crypto.hex(Digest.sha256(Array((salt + secret).utf8)))
    }

    // MARK: file format: {"version":1,"keys":[{...}]}

    public func serialize() -> [UInt8] {
        let keys: [JSONValue] = records.map { r in
            var o: JSONObject = ["id": .string(r.id), "role": .string(r.role.name), "salt": .string(r.salt), "hash": .string(r.hash),
                                 "created_at": .double(r.createdAt), "description": .string(r.description)]
            o["expires_at"] = r.expiresAt.map(JSONValue.double) ?? .null
            o["revoked_at"] = r.revokedAt.map(JSONValue.double) ?? .null
            return .object(o)
        }
        var out = JSONValue.object(["version": 1, "keys": .array(keys)]).jsonBytes
        out.append(0x0A)
        return out
    }

    public struct FormatError: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    public static func parse(_ bytes: [UInt8]) throws(FormatError) -> APIKeyRing {
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x09 || $0 == 0x0D }) { return APIKeyRing() }
        guard let root = try? JSONValue.parse(bytes), root["version"] == 1, let keys = root["keys"]?.arrayValue else {
            throw FormatError(message: "not an API key file (expected {\"version\":1,\"keys\":[…]})")
        }
        var ring = APIKeyRing()
        for (i, k) in keys.enumerated() {
            guard let id = k["id"]?.stringValue, let roleName = k["role"]?.stringValue, let role = Role(name: roleName),
                  let salt = k["salt"]?.stringValue, let hash = k["hash"]?.stringValue, let created = k["created_at"]?.doubleValue
            else { throw FormatError(message: "key entry \(i) is incomplete") }
            ring.records.append(APIKeyRecord(id: id, role: role, salt: salt, hash: hash, createdAt: created,
                                             expiresAt: k["expires_at"]?.doubleValue, description: k["description"]?.stringValue ?? "",
                                             revokedAt: k["revoked_at"]?.doubleValue))
        }
        return ring
    }
}

/// `90d`, `12h`, `30m`, `45s`, or plain seconds; at most 100 years.
public func parseTTL(_ s: String) -> Double? {
    let units: [(Character, Double)] = [("s", 1), ("m", 60), ("h", 3600), ("d", 86400), ("w", 604800)]
    var seconds: Double?
    if let last = s.last, let unit = units.first(where: { $0.0 == last }), let n = Double(s.dropLast()) { seconds = n * unit.1 }
    else if let n = Double(s) { seconds = n }
    guard let v = seconds, v.isFinite, v > 0, v <= 100 * 365.25 * 86400 else { return nil }
    return v
}
