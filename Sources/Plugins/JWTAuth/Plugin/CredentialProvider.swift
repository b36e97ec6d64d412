import JWTAuthCore
import PluginAPI
import Synchronization

/// Verifies a JWT or an API key, by its shape (`csk_` prefix) unless the caller says which;
/// issues JWTs for `--demo`.
final class CredentialProvider: AuthProvider, CredentialIssuer {
    let jwt: JWTVerifier
    let keys: APIKeyCache

    init(jwt: JWTVerifier, keys: APIKeyCache) {
        self.jwt = jwt
        self.keys = keys
    }

    func authenticate(token: String, type: AuthType?) async throws -> Principal {
        let isKey = type == .apiKey || (type != .jwt && token.hasPrefix(APIKeyRing.prefix))
        let now = wallClock()
        if isKey {
            do { return try keys.ring().verify(token, now: now) } catch let e as APIKeyRejection {
                throw RPCError.authenticationRequired(reason: e == .expired ? "token_expired" : "auth_failed", detail: e.description)
            }
        }
        do { return try jwt.verify(token, now: now) } catch {
            throw RPCError.authenticationRequired(reason: error == .expired ? "token_expired" : "auth_failed", detail: error.description)
        }
    }

    func issueCredential(user: String, role: Role, validFor seconds: Double) throws -> String {
        jwt.mint(user: user, role: role, issuedAt: wallClock(), validFor: seconds)
    }
}

/// The key ring, reloaded when the file changes (so `keys revoke` works on a running daemon).
final class APIKeyCache: Sendable {
    let file: APIKeyFile
    private let cached = Mutex<(stamp: [Int], ring: APIKeyRing)?>(nil)

    init(file: APIKeyFile) { self.file = file }

    func ring() throws -> APIKeyRing {
        let stamp = file.stamp()
        if let c = cached.withLock({ $0 }), c.stamp == stamp { return c.ring }
        let ring = try file.load()
        cached.withLock { $0 = (stamp, ring) }
        return ring
    }
}
