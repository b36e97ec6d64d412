import Codecs
import PluginAPI

/// Why a token was refused. `expired` maps to `reason: token_expired`, everything else to
/// `auth_failed`; the text never contains the token.
public enum JWTRejection: Error, Sendable, Equatable, CustomStringConvertible {
    case tooLarge
    case malformed(String)
    case algorithm(String)
    case badSignature
    case claim(String)
    case expired
    case notYetValid

    public var description: String {
        switch self {
        case .tooLarge: return "token larger than 8 KiB"
        case .malformed(let m): return "malformed token: \(m)"
        case .algorithm(let a): return "algorithm '\(a)' not accepted (HS256 only)"
        case .badSignature: return "bad signature"
        case .claim(let m): return "invalid claims: \(m)"
        case .expired: return "token expired"
        case .notYetValid: return "token not valid yet (nbf/iat in the future)"
        }
    }
}

/// Verifies HS256 JSON Web Tokens (RFC 7519) as the contract requires: the algorithm is fixed
/// (no `alg` switching, no `none`), the MAC is compared in constant time, and `user_id`, `role`,
/// `iat`, `exp` are required with the right types; `nbf` is honoured. A pure value: no I/O,
/// the clock is a parameter.
public struct JWTVerifier: Sendable {
    public static let maxTokenBytes = 8 * 1024
    let secret: [UInt8]
    /// Tolerance for clock differences, seconds.
    public let clockSkew: Double

    public init(secret: [UInt8], clockSkew: Double = 30) {
        self.secret = secret
        self.clockSkew = clockSkew
    }

    public func verify(_ token: String, now: Double) throws(JWTRejection) -> Principal {
        let bytes = Array(token.utf8)
        guard bytes.count <= JWTVerifier.maxTokenBytes else { throw .tooLarge }
        let parts = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw .malformed("expected three dot-separated parts") }
        guard let headerBytes = Base64.decode(String(decoding: parts[0], as: UTF8.self), urlSafe: true),
              let payloadBytes = Base64.decode(String(decoding: parts[1], as: UTF8.self), urlSafe: true),
              let signature = Base64.decode(String(decoding: parts[2], as: UTF8.self), urlSafe: true)
        else { throw .malformed("invalid base64url") }
        guard case .object(let header)? = try? JSONValue.parse(headerBytes, maxDepth: 8) else { throw .malformed("header is not a JSON object") }
        guard let alg = header["alg"]?.stringValue else { throw .malformed("header has no 'alg'") }
        guard alg == "HS256" else { throw .algorithm(alg) }
        if header["crit"] != nil { throw .malformed("critical header extensions are not supported") }
        let signingInput = bytes[0..<(parts[0].count + 1 + parts[1].count)]
        let expected = signingInput.withUnsafeBytes { Crypto.hmacSHA256(key: secret, message: $0) }
        guard Crypto.constantTimeEqual(expected, signature) else { throw .badSignature }

        guard case .object(let claims)? = try? JSONValue.parse(payloadBytes, maxDepth: 16) else { throw .malformed("payload is not a JSON object") }
        guard let userID = claims["user_id"]?.stringValue, !userID.isEmpty, userID.utf8.count <= 256 else {
            throw .claim("'user_id' must be a non-empty string")
        }
        guard let roleName = claims["role"]?.stringValue else { throw .claim("'role' must be a string") }
        guard let role = Role(name: roleName) else { throw .claim("unknown role '\(roleName)'") }
        guard let iat = claims["iat"].flatMap(JWTVerifier.number) else { throw .claim("'iat' must be a number") }
        guard let exp = claims["exp"].flatMap(JWTVerifier.number) else { throw .claim("'exp' must be a number") }
        if let nbfValue = claims["nbf"] {
            guard let nbf = JWTVerifier.number(nbfValue) else { throw .claim("'nbf' must be a number") }
            if nbf > now + clockSkew { throw .notYetValid }
        }
        if iat > now + clockSkew { throw .notYetValid }
        if exp <= now - clockSkew { throw .expired }
        return Principal(userID: userID, role: role, authType: .jwt, expiresAt: exp, validUntil: exp + clockSkew)
    }

    /// Latest time a claim may name (9999-12-31): later values are refused, not clamped.
    static let maxTime = 253_402_300_799.0

    /// A JSON number within 0…year 9999 (not a numeric string, not a boolean).
    static func number(_ v: JSONValue) -> Double? {
        let d: Double
        switch v {
        case .int(let i): d = Double(i)
        case .double(let x) where x.isFinite: d = x
        default: return nil
        }
        return d >= 0 && d <= maxTime ? d : nil
    }

    /// Mints a token (operators' `token` command and tests).
    public func sign(claims: JSONObject) -> String {
        let header = Base64.encode(Array(#"{"alg":"HS256","typ":"JWT"}"#.utf8), urlSafe: true)
        let payload = Base64.encode(JSONValue.object(claims).jsonBytes, urlSafe: true)
        let input = Array("\(header).\(payload)".utf8)
        let mac = input.withUnsafeBytes { Crypto.hmacSHA256(key: secret, message: $0) }
        return "\(header).\(payload).\(Base64.encode(mac, urlSafe: true))"
    }

    /// A token with the claims the daemon reads: `user_id`, `role`, `iat` and `exp`.
    public func mint(user: String, role: Role, issuedAt: Double, validFor seconds: Double) -> String {
        let iat = Int(issuedAt.rounded(.down))
        return sign(claims: ["user_id": .string(user), "role": .string(role.name), "iat": .int(iat), "exp": .int(iat + Int(seconds))])
    }
}

/// Checks a secret for production use: long enough and not a known placeholder.
public enum SecretPolicy {
    public static let minimumBytes = 32
    static let placeholders: Set<String> = [
        "secret", "changeme", "change-me", "change_me", "your-secret-key", "your_secret_key", "jwt-secret", "jwt_secret",
        "dev-secret", "development", "test", "password", "default", "supersecret", "please-change-me",
        "CHANGE_ME_IN_PRODUCTION", "change-this-secret-in-production", "your-256-bit-secret",
    ]

    /// Nil when acceptable, else why not.
    public static func problem(with secret: [UInt8]) -> String? {
        if secret.isEmpty { return "the JWT secret is empty" }
        let text = String(decoding: secret, as: UTF8.self)
        if placeholders.contains(text) || placeholders.contains(text.lowercased()) { return "the JWT secret is a well-known placeholder" }
        if Set(secret).count == 1 { return "the JWT secret repeats one character" }
        if secret.count < minimumBytes { return "the JWT secret is \(secret.count) bytes; at least \(minimumBytes) are required" }
        return nil
    }
}
