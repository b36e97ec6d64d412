import Glibc
import JWTAuthCore
import PluginAPI

@_cdecl("swiftplugin_api_version") public func swiftpluginAPIVersion() -> UInt32 { pluginAPIVersion }
@_cdecl("swiftplugin_create") public func swiftpluginCreate() -> UnsafeMutableRawPointer { exportPlugin(JWTAuthPlugin()) }

/// The JWTAuth plugin: an ``AuthProvider`` verifying HS256 tokens (see JWTAuthCore).
///
/// Config: `secret` or `secret_file` (else `CAMERA_SERVICE_JWT_SECRET`), `clock_skew` seconds.
final class JWTAuthPlugin: Plugin {
    let info = PluginInfo(name: "jwt_auth", version: "1.0.0", summary: "HS256 JWT authentication")

    func activate(_ context: any PluginContext) async throws -> PluginCapabilities {
        let c = context.config
        try c.rejectUnknownKeys(allowed: ["secret", "secret_file", "clock_skew"])
        let skew = try c.configDouble("clock_skew", default: 30, range: 0...3600)
        let secret = try loadSecret(context)
        if let problem = SecretPolicy.problem(with: secret) {
            if context.mode == .production {
                throw PluginConfigError(key: "secret", problem: "\(problem); set a random secret (e.g. `openssl rand -hex 32`) or run in development mode")
            }
            context.logger.warning("\(problem); accepted only because the daemon runs in development mode")
        }
        return PluginCapabilities(authProvider: JWTAuthProvider(verifier: JWTVerifier(secret: secret, clockSkew: skew)))
    }

    func loadSecret(_ context: any PluginContext) throws -> [UInt8] {
        if let s = try context.config.configOptionalString("secret"), !s.isEmpty { return Array(s.utf8) }
        if let path = try context.config.configOptionalString("secret_file") {
            guard let text = readSmallFile(path) else { throw PluginConfigError(key: "secret_file", problem: "cannot read \(path)") }
            var bytes = Array(text.utf8)
            while let last = bytes.last, last == 0x0A || last == 0x0D || last == 0x20 { bytes.removeLast() }
            return bytes
        }
        return Array((context.environment("CAMERA_SERVICE_JWT_SECRET") ?? "").utf8)
    }

    func shutdown() async {}
}

/// Verifies JWTs; leaves API keys (`csk_…`) to another provider in the chain.
final class JWTAuthProvider: AuthProvider {
    let verifier: JWTVerifier
    init(verifier: JWTVerifier) { self.verifier = verifier }

    func authenticate(token: String, type: String) async throws -> Principal {
        if type == "api_key" || token.hasPrefix("csk_") {
            throw RPCError.authenticationRequired(reason: "auth_failed", detail: "not a JWT")
        }
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        do {
            return try verifier.verify(token, now: Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9)
        } catch {
            throw RPCError.authenticationRequired(reason: error == .expired ? "token_expired" : "auth_failed", detail: error.description)
        }
    }
}

/// Reads a small text file (secrets), nil on any error.
func readSmallFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var buf = [UInt8](repeating: 0, count: 4096)
    let n = read(fd, &buf, buf.count)
    guard n >= 0 else { return nil }
    return String(decoding: buf[0..<n], as: UTF8.self)
}
