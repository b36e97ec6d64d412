import Codecs
import Glibc
import JWTAuthCore
import PluginAPI

@_cdecl("swiftplugin_api_version") public func swiftpluginAPIVersion() -> UInt32 { pluginAPIVersion }
@_cdecl("swiftplugin_create") public func swiftpluginCreate() -> UnsafeMutableRawPointer { exportPlugin(JWTAuthPlugin()) }

/// The JWTAuth plugin: an ``AuthProvider`` for HS256 JWTs and `csk_` API keys, and the
/// `keys` and `token` commands.
///
/// Config: `secret` or `secret_file` (else `CAMERA_SERVICE_JWT_SECRET`), `clock_skew` seconds,
/// `api_keys_file` (default `api-keys.json` in the daemon's data directory).
final class JWTAuthPlugin: Plugin {
    let info = PluginInfo(name: "jwt_auth", version: "1.1.0", summary: "HS256 JWT and API key authentication")
    static let configKeys = ["secret", "secret_file", "clock_skew", "api_keys_file"]

    func check(_ context: any PluginContext) async throws {
        let settings = try Settings.checked(context)
        _ = try APIKeyFile(path: settings.keysPath).load()
    }

    func activate(_ context: any PluginContext) async throws -> PluginCapabilities {
        let settings = try Settings.checked(context)
        let keys = APIKeyCache(file: APIKeyFile(path: settings.keysPath))
        _ = try keys.ring()  // an unreadable key file is a configuration error now, not at the first login
        context.logger.info("API keys from \(settings.keysPath)")
        return PluginCapabilities(authProvider: CredentialProvider(jwt: JWTVerifier(secret: settings.secret, clockSkew: settings.clockSkew), keys: keys))
    }

    func shutdown() async {}

    func commands() -> [PluginCommand] { [KeysCommand.command, TokenCommand.command] }
}

/// The plugin's configuration, read the same way for the daemon and the commands.
struct Settings {
    let secret: [UInt8]
    let clockSkew: Double
    let keysPath: String

    init(_ context: any PluginContext) throws {
        let c = context.config
        try c.rejectUnknownKeys(allowed: JWTAuthPlugin.configKeys)
        clockSkew = try c.configDouble("clock_skew", default: 30, range: 0...3600)
        keysPath = context.dataPath(try c.configString("api_keys_file", default: "api-keys.json"))
        if let s = try c.configOptionalString("secret"), !s.isEmpty {
            secret = Array(s.utf8)
        } else if let path = try c.configOptionalString("secret_file") {
            guard let text = readSmallFile(context.resolvePath(path)) else {
                throw PluginConfigError(key: "secret_file", problem: "cannot read \(context.resolvePath(path))")
            }
            var bytes = Array(text.utf8)
            while let last = bytes.last, last == 0x0A || last == 0x0D || last == 0x20 { bytes.removeLast() }
            secret = bytes
        } else {
            secret = Array((context.environment("CAMERA_SERVICE_JWT_SECRET") ?? "").utf8)
        }
    }
}

extension Settings {
    /// The settings, with the secret held to the policy: in production a weak secret is a
    /// configuration error (the daemon would refuse to start); in development, a warning.
    static func checked(_ context: any PluginContext) throws -> Settings {
        let settings = try Settings(context)
        if let problem = SecretPolicy.problem(with: settings.secret) {
            if context.mode == .production {
                throw PluginConfigError(key: "secret", problem: "\(problem); set a random secret (e.g. `openssl rand -hex 32`) or run in development mode")
            }
            context.logger.warning("\(problem); accepted only because the daemon runs in development mode")
        }
        return settings
    }
}

/// Seconds since the epoch.
func wallClock() -> Double { Timestamp.now() }

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
