import Codecs
import Glibc
import JWTAuthCore
import PluginAPI

@_cdecl("swiftplugin_api_version") public func swiftpluginAPIVersion() -> UInt32 { pluginAPIVersion }
@_cdecl("swiftplugin_create") public func swiftpluginCreate() -> UnsafeMutableRawPointer { exportPlugin(JWTAuthPlugin()) }

/// The JWTAuth plugin: an ``AuthProvider`` for HS256 JWTs and `csk_` API keys, and the
/// `keys` and `token` commands.
///
/// Config: `secret` or `secret_file` (else `CAMERA_SERVICE_JWT_SECRET`, else `jwt.secret` in the
/// data directory, made on first start), `clock_skew` seconds, `api_keys_file` (default
/// `api-keys.json` in the data directory). Under `--demo`, a secret made for the run.
final class JWTAuthPlugin: Plugin {
    let info = PluginInfo(name: "jwt_auth", version: "1.1.0", summary: "HS256 JWT and API key authentication")
    static let configKeys = ["secret", "secret_file", "clock_skew", "api_keys_file"]

    func check(_ context: any PluginContext) async throws {
        let settings = try Settings.checked(context, createSecret: false)
        _ = try APIKeyFile(path: settings.keysPath).load()
    }

    func activate(_ context: any PluginContext) async throws -> PluginCapabilities {
        let settings = try Settings.checked(context, createSecret: true)
        let keys = APIKeyCache(file: APIKeyFile(path: settings.keysPath))
        _ = try keys.ring()  // an unreadable key file is a configuration error now, not at the first login
        context.logger.info("JWT secret: \(settings.secretSource); API keys: \(settings.keysPath)")
        return PluginCapabilities(authProvider: CredentialProvider(jwt: JWTVerifier(secret: settings.secret, clockSkew: settings.clockSkew), keys: keys))
    }

    func shutdown() async {}

    func commands() -> [PluginCommand] { [KeysCommand.command, TokenCommand.command] }
}

/// The plugin's configuration, read the same way for the daemon and the commands.
struct Settings {
    let secret: [UInt8]
    /// Where the secret came from, for the start-up log.
    let secretSource: String
    let clockSkew: Double
    let keysPath: String

    /// The secret file made in the data directory when no secret is configured.
    static let defaultSecretFile = "jwt.secret"

    /// `createSecret`: make the data directory's secret file when it is the source and does
    /// not exist yet (the daemon and `token`; `--check-config` only reports).
    init(_ context: any PluginContext, createSecret: Bool) throws {
        let c = context.config
        try c.rejectUnknownKeys(allowed: JWTAuthPlugin.configKeys)
        clockSkew = try c.configDouble("clock_skew", default: 30, range: 0...3600)
        keysPath = context.dataPath(try c.configString("api_keys_file", default: "api-keys.json"))
        if context.isDemo {
            secret = SecretFile.generate()
            secretSource = "a fresh one for this demo run, in memory only"
        } else if let s = try c.configOptionalString("secret"), !s.isEmpty {
            secret = Array(s.utf8)
            secretSource = "the config key secret"
        } else if let path = try c.configOptionalString("secret_file") {
            let file = SecretFile(path: context.resolvePath(path))
            let bytes: [UInt8]?
            do throws(SecretFile.IOError) { bytes = try file.read() } catch {
                throw PluginConfigError(key: "secret_file", problem: error.description)
            }
            guard let bytes else { throw PluginConfigError(key: "secret_file", problem: "\(file.path) does not exist") }
            secret = bytes
            secretSource = "file \(file.path)"
        } else if let env = context.environment("CAMERA_SERVICE_JWT_SECRET"), !env.isEmpty {
            secret = Array(env.utf8)
            secretSource = "CAMERA_SERVICE_JWT_SECRET"
        } else {
            let file = SecretFile(path: context.dataPath(Self.defaultSecretFile))
            do throws(SecretFile.IOError) {
                // Not yet made and only checking: a fresh random secret stands for the one start-up will make.
                secret = createSecret ? try file.readOrCreate() : (try file.read() ?? SecretFile.generate())
            } catch {
                throw PluginConfigError(key: "secret_file", problem: error.description)
            }
            secretSource = "file \(file.path)"
        }
    }
}

extension Settings {
    /// The settings, with the secret held to the policy: in production a weak secret is a
    /// configuration error (the daemon would refuse to start); in development, a warning.
    static func checked(_ context: any PluginContext, createSecret: Bool) throws -> Settings {
        let settings = try Settings(context, createSecret: createSecret)
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
