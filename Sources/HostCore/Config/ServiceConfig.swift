import PluginAPI

/// The daemon's configuration (config.yaml). Every key is documented in docs/configuration.md.
package struct ServiceConfig: Sendable {
    package struct Server: Sendable {
        package var host = "0.0.0.0"
        package var port = 8002
        package var websocketPath = "/ws"
        package var maxConnections = 1000
        package var maxConnectionsPerIP = 64
        package var maxMessageBytes = 1 << 20
        package var maxOutboundBytes = 2 << 20
        package var pingInterval = 30.0
        package var pingTimeout = 60.0
        package var requestTimeout = 10.0
        package var idleTimeout = 120.0
        package var shutdownTimeout = 5.0
        package var tlsCertFile: String?
        package var tlsKeyFile: String?
        /// The web console's files (absolute); empty: no console.
        package var consoleDir = "console"
    }
    package struct Plugins: Sendable {
        package var file = "plugins.yaml"
        package var dirs: [String] = []
    }
    package struct Logging: Sendable {
        package var level: LogLevel = .info
        package var format = "json"
    }
    package struct Security: Sendable {
        package var allowedOrigins: [String] = []
        package var rateLimit = RateLimitSettings()
        /// The share of `server.max_connections` connections without an identity may use.
        package var unauthenticatedConnectionShare = 0.5
        package var unauthenticatedMaxMessageBytes = 16 * 1024
        package var authTimeout = 30.0
    }

    package var mode: RunMode = .production
    /// `camera-service --demo` (a command-line switch, not a config key): see ``DemoPreset``.
    package var demo = false
    /// Where state that must survive restarts lives (keys, catalogues), absolute.
    package var dataDir = "data"
    package var server = Server()
    package var plugins = Plugins()
    package var logging = Logging()
    package var security = Security()
    /// The file it was read from (nil when built from defaults).
    package var sourceFile: String?

    package init() {}

    /// Decodes and validates the whole tree; returns the config and every known dotted key.
    package static func decode(_ root: YAMLNode, source: String) throws(ConfigError) -> (ServiceConfig, [String]) {
        var c = ServiceConfig()
        c.sourceFile = source
        var top = try ConfigReader(root, path: "", fallbackMark: SourceMark(source: source, line: 1, column: 1))
        c.mode = RunMode(rawValue: try top.choice("mode", default: "production", from: ["production", "development"])) ?? .production
        c.dataDir = FileIO.resolve(try top.string("data_dir", default: c.dataDir), against: FileIO.dirname(source))

        var s = try top.section("server")
        c.server.host = try s.string("host", default: c.server.host)
        c.server.port = try s.int("port", default: c.server.port, range: 1...65535)
        c.server.websocketPath = try s.string("websocket_path", default: c.server.websocketPath)
        if !c.server.websocketPath.hasPrefix("/") {
            throw ConfigError(root["server"]?["websocket_path"]?.mark ?? s.mark, "server.websocket_path: must start with '/'")
        }
        c.server.maxConnections = try s.int("max_connections", default: c.server.maxConnections, range: 1...1_000_000)
        c.server.maxConnectionsPerIP = try s.int("max_connections_per_ip", default: c.server.maxConnectionsPerIP, range: 1...1_000_000)
        c.server.maxMessageBytes = try s.int("max_message_bytes", default: c.server.maxMessageBytes, range: 1024...(256 << 20))
        c.server.maxOutboundBytes = try s.int("max_outbound_bytes", default: c.server.maxOutboundBytes, range: 4096...(1 << 30))
        c.server.pingInterval = try s.seconds("ping_interval", default: c.server.pingInterval, range: 1...86400)
        c.server.pingTimeout = try s.seconds("ping_timeout", default: c.server.pingTimeout, range: 1...86400)
        if c.server.pingTimeout <= c.server.pingInterval {
            throw ConfigError(s.mark, "server.ping_timeout (\(c.server.pingTimeout)s) must be longer than server.ping_interval (\(c.server.pingInterval)s)")
        }
        c.server.requestTimeout = try s.seconds("request_timeout", default: c.server.requestTimeout, range: 0.1...3600)
        c.server.idleTimeout = try s.seconds("idle_timeout", default: c.server.idleTimeout, range: 1...86400)
        c.server.shutdownTimeout = try s.seconds("shutdown_timeout", default: c.server.shutdownTimeout, range: 0...600)
        let console = try s.string("console_dir", default: c.server.consoleDir)
        c.server.consoleDir = console.isEmpty ? "" : FileIO.resolve(console, against: FileIO.dirname(source))
        var tls = try s.section("tls")
        c.server.tlsCertFile = try tls.optionalString("cert_file")
        c.server.tlsKeyFile = try tls.optionalString("key_file")
        if (c.server.tlsCertFile == nil) != (c.server.tlsKeyFile == nil) {
            throw ConfigError(tls.mark, "server.tls: cert_file and key_file must be given together")
        }
        try s.adopt(tls)
        try top.adopt(s)

        var p = try top.section("plugins")
        c.plugins.file = try p.string("file", default: c.plugins.file)
        c.plugins.dirs = try p.stringList("dirs", default: [])
        try top.adopt(p)

        var l = try top.section("logging")
        let level = try l.choice("level", default: "info", from: LogLevel.allCases.map(\.name))
        c.logging.level = LogLevel(name: level) ?? .info
        c.logging.format = try l.choice("format", default: "json", from: ["json", "text"])
        try top.adopt(l)

        var sec = try top.section("security")
        c.security.allowedOrigins = try sec.stringList("allowed_origins", default: [])
        var rl = try sec.section("rate_limit")
        c.security.rateLimit.requestsPerSecond = try rl.number("requests_per_second", default: 100, range: 0.01...1e9)
        c.security.rateLimit.burst = try rl.number("burst", default: 200, range: 1...1e9)
        c.security.rateLimit.methods = try rl.numberMap("methods")
        c.security.rateLimit.authFailuresBeforeBackoff = try rl.int("auth_failures_before_backoff", default: 5, range: 1...1000)
        try sec.adopt(rl)
        c.security.unauthenticatedConnectionShare = try sec.number("unauthenticated_connection_share", default: 0.5, range: 0.01...1)
        c.security.unauthenticatedMaxMessageBytes = try sec.int("unauthenticated_max_message_bytes", default: 16 * 1024, range: 1024...(256 << 20))
        c.security.authTimeout = try sec.seconds("auth_timeout", default: 30, range: 1...86400)
        try top.adopt(sec)

        try top.finish()
        return (c, top.knownKeys)
    }
}

/// Reads config.yaml, applies `CAMERA_SERVICE_<SECTION>_<KEY>` overrides and validates.
package enum ConfigLoader {
    package static let envPrefix = "CAMERA_SERVICE_"

    /// The config file to use: the explicit one, else `./config.yaml`, else
    /// `/etc/camera-service/config.yaml`; nil when none exists (defaults apply).
    package static func locate(explicit: String?) -> String? {
        if let explicit { return explicit }
        for candidate in ["config.yaml", "/etc/camera-service/config.yaml"] where FileIO.exists(candidate) { return candidate }
        return nil
    }

    package static func load(path: String?, environment: [String: String]) throws(ConfigError) -> ServiceConfig {
        var root: YAMLNode
        let source = path ?? "(defaults)"
        if let path {
            let text: [UInt8]
            do { text = try FileIO.read(path) } catch {
                throw ConfigError(SourceMark(source: path, line: 0, column: 0), "cannot read config file: \(error)")
            }
            root = try YAMLParser.parse(text, source: path)
        } else {
            root = .mapping([], SourceMark(source: source, line: 0, column: 0))
        }
        // Decoding the defaults first tells every key there is, hence every override name.
        let (_, keys) = try ServiceConfig.decode(.mapping([], SourceMark(source: source, line: 0, column: 0)), source: source)
        root = try applyOverrides(root, keys: keys, environment: environment)
        var (config, _) = try ServiceConfig.decode(root, source: source)
        config.sourceFile = path
        return config
    }

    /// The environment variable name for a dotted key: `server.port` → `CAMERA_SERVICE_SERVER_PORT`.
    package static func envName(for key: String) -> String {
        envPrefix + key.replacingDots().uppercased()
    }

    /// Replaces values in the tree with the matching environment variables. Variables with the
    /// prefix that match no key are left alone: plugins read their own (e.g. `…_JWT_SECRET`).
    static func applyOverrides(_ root: YAMLNode, keys: [String], environment: [String: String]) throws(ConfigError) -> YAMLNode {
        var root = root
        for key in keys {
            let name = envName(for: key)
            guard let value = environment[name] else { continue }
            let mark = SourceMark(source: "environment \(name)", line: 0, column: 0)
            root = try setting(root, path: key.split(separator: ".").map(String.init), to: .scalar(value, plain: true, mark))
        }
        return root
    }

    static func setting(_ node: YAMLNode, path: [String], to value: YAMLNode) throws(ConfigError) -> YAMLNode {
        guard let first = path.first else { return value }
        var entries: [(key: String, keyMark: SourceMark, value: YAMLNode)] = []
        let mark = node.mark
        switch node {
        case .mapping(let e, _): entries = e
        case .scalar where node.isNull: entries = []
        default: throw ConfigError(mark, "cannot apply an environment override below a non-mapping value")
        }
        if let i = entries.firstIndex(where: { $0.key == first }) {
            entries[i].value = try setting(entries[i].value, path: Array(path.dropFirst()), to: value)
        } else {
            let child = try setting(.mapping([], value.mark), path: Array(path.dropFirst()), to: value)
            entries.append((first, value.mark, child))
        }
        return .mapping(entries, mark)
    }
}

extension String {
    func replacingDots() -> String { String(map { $0 == "." ? "_" : $0 }) }
}
