@testable import HostCore
import Foundation
import PluginAPI
import Testing

@Suite struct ConfigTests {
    func load(_ yaml: String, env: [String: String] = [:]) throws(ConfigError) -> ServiceConfig {
        let root = try YAMLParser.parse(Array(yaml.utf8), source: "test.yaml")
        let (_, keys) = try ServiceConfig.decode(.mapping([], SourceMark(source: "d", line: 0, column: 0)), source: "d")
        return try ServiceConfig.decode(try ConfigLoader.applyOverrides(root, keys: keys, environment: env), source: "test.yaml").0
    }

    func error(_ yaml: String, env: [String: String] = [:]) -> String? {
        do { _ = try load(yaml, env: env); return nil } catch { return error.description }
    }

    @Test func defaults() throws {
        let c = try load("")
        #expect(c.server.port == 8002 && c.server.host == "0.0.0.0" && c.server.websocketPath == "/ws")
        #expect(c.server.maxConnections == 1000 && c.server.maxMessageBytes == 1 << 20)
        #expect(c.server.pingInterval == 30 && c.server.pingTimeout == 60)
        #expect(c.plugins.file == "plugins.yaml" && c.logging.level == .info && c.logging.format == "json")
        #expect(c.mode == .production)
    }

    @Test func valuesAndDurations() throws {
        let c = try load("""
            mode: development
            server:
              port: 9000
              ping_interval: 1500ms
              ping_timeout: 2m
              tls: {cert_file: a.pem, key_file: b.pem}
            logging: {level: debug, format: text}
            security:
              allowed_origins: [https://a, https://b]
            """)
        #expect(c.mode == .development && c.server.port == 9000)
        #expect(c.server.pingInterval == 1.5 && c.server.pingTimeout == 120)
        #expect(c.server.tlsCertFile == "a.pem" && c.server.tlsKeyFile == "b.pem")
        #expect(c.logging.level == .debug && c.logging.format == "text")
        #expect(c.security.allowedOrigins == ["https://a", "https://b"])
    }

    @Test func errorsNameFileLineAndColumn() {
        #expect(error("server:\n  port: abc\n") == "test.yaml:2:9: server.port: expected an integer from 1 to 65535, got 'abc'")
        #expect(error("server:\n  prot: 1\n") == "test.yaml:2:3: unknown key 'server.prot' (did you mean 'port'?)")
        #expect(error("nonsense: 1\n")?.hasPrefix("test.yaml:1:1: unknown key 'nonsense'") == true)
        #expect(error("logging:\n  level: loud\n")?.contains("logging.level: expected one of trace") == true)
        #expect(error("server: [1, 2]\n")?.contains("server must be a mapping") == true)
        #expect(error("server:\n  port: 1\n  port: 2\n")?.contains("duplicate key 'port'") == true)
        #expect(error("server: {port: [1}\n")?.hasPrefix("test.yaml:1:") == true)
        #expect(error("a: &x 1\nb: *x\n")?.contains("not supported") == true)
        #expect(error("server:\n  ping_interval: 30s\n  ping_timeout: 10s\n")?.contains("must be longer") == true)
        #expect(error("server:\n  tls: {cert_file: a}\n")?.contains("together") == true)
        #expect(error("server:\n  websocket_path: ws\n")?.contains("must start with '/'") == true)
    }

    @Test func environmentOverrides() throws {
        let c = try load("server:\n  port: 1000\n", env: [
            "CAMERA_SERVICE_SERVER_PORT": "18002", "CAMERA_SERVICE_LOGGING_LEVEL": "warning",
            "CAMERA_SERVICE_SERVER_TLS_CERT_FILE": "c", "CAMERA_SERVICE_SERVER_TLS_KEY_FILE": "k",
            "CAMERA_SERVICE_SECURITY_ALLOWED_ORIGINS": "https://a, https://b", "CAMERA_SERVICE_MODE": "development",
            "CAMERA_SERVICE_JWT_SECRET": "left for the plugin",
        ])
        #expect(c.server.port == 18002 && c.logging.level == .warning && c.mode == .development)
        #expect(c.server.tlsCertFile == "c" && c.security.allowedOrigins == ["https://a", "https://b"])
    }

    @Test func badEnvironmentOverrideNamesTheVariable() {
        #expect(error("", env: ["CAMERA_SERVICE_SERVER_PORT": "x"]) == "environment CAMERA_SERVICE_SERVER_PORT: server.port: expected an integer from 1 to 65535, got 'x'")
    }

    @Test func envNames() {
        #expect(ConfigLoader.envName(for: "server.websocket_path") == "CAMERA_SERVICE_SERVER_WEBSOCKET_PATH")
    }

    @Test func pluginConfigBecomesJSON() throws {
        let root = try YAMLParser.parse(Array("a: 1\nb: 'x'\nc: true\nd: ~\ne: 1.5\nf: [1, two]\ng: '1'\n".utf8), source: "t")
        #expect(root.json == ["a": 1, "b": "x", "c": true, "d": nil, "e": 1.5, "f": [1, "two"], "g": "1"])
    }
}

@Suite struct PluginsFileTests {
    func parse(_ yaml: String) throws -> [PluginEntry] {
        try PluginsFile.parse(try YAMLParser.parse(Array(yaml.utf8), source: "plugins.yaml"))
    }

    @Test func entries() throws {
        let e = try parse("""
            plugins:
              - name: jwt_auth
                library: JWTAuth
                required: true
                config: {secret: abc, clock_skew: 5}
              - {name: cams, library: /opt/x/libCams.so, enabled: false}
            """)
        #expect(e.count == 2)
        #expect(e[0].name == "jwt_auth" && e[0].required && e[0].enabled && e[0].config["clock_skew"] == 5)
        #expect(e[1].library == "/opt/x/libCams.so" && !e[1].enabled && !e[1].required)
    }

    @Test(arguments: [
        ("plugins:\n  - {library: X}\n", "without 'name'"),
        ("plugins:\n  - {name: Bad-Name, library: X}\n", "must match"),
        ("plugins:\n  - {name: a, library: X}\n  - {name: a, library: Y}\n", "used twice"),
        ("plugins:\n  - {name: a}\n", "missing 'library'"),
        ("plugins:\n  - {name: a, library: X, enabled: maybe}\n", "expected true or false"),
        ("plugins:\n  - {name: a, library: X, confg: {}}\n", "unknown key 'plugins[0].confg'"),
        ("plugins: {a: 1}\n", "expected a list"),
        ("plugins:\n  - {name: a, library: X, config: [1]}\n", "'config' must be a mapping"),
    ])
    func errors(yaml: String, fragment: String) {
        do {
            _ = try parse(yaml)
            Issue.record("expected an error containing \(fragment)")
        } catch {
            #expect("\(error)".contains(fragment), "\(error)")
            #expect("\(error)".hasPrefix("plugins.yaml:"))
        }
    }

    @Test func libraryResolution() throws {
        #expect(try PluginLoader.resolve("/abs/libX.so", dirs: [], baseDir: "/etc") == "/abs/libX.so")
        #expect(try PluginLoader.resolve("sub/libX.so", dirs: [], baseDir: "/etc/cs") == "/etc/cs/sub/libX.so")
        #expect(throws: PluginLoadError.self) { try PluginLoader.resolve("Nope", dirs: ["/nonexistent"], baseDir: ".") }
    }
}

@Suite struct ConfigDocsTests {
    /// Every key the daemon reads is documented (as `key`) in docs/configuration.md.
    @Test func everyHostKeyIsDocumented() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let docs = try String(contentsOf: repo.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
        let (_, keys) = try ServiceConfig.decode(.mapping([], SourceMark(source: "d", line: 0, column: 0)), source: "d")
        #expect(keys.count > 20)
        let missing = keys.filter { !docs.contains("`\($0)`") }
        #expect(missing.isEmpty, "not in docs/configuration.md: \(missing)")
    }
}
