import PluginAPI

/// `camera-service --demo`: the configured daemon, made into a throwaway a newcomer can reach
/// at once. Development mode; the test-pattern cameras on (added when the plugins file has no
/// entry for them); plugins told it is a demo, so the auth plugin makes a secret for this run;
/// and, before any log line, a banner with the console URL and a token per role.
enum DemoPreset {
    static let testPatternLibrary = "TestPatternSource"
    /// The tokens outlive any demo: they die with the run's secret instead.
    static let tokenLifetime = 30.0 * 86400

    static func apply(to loaded: Daemon.Loaded) -> Daemon.Loaded {
        var config = loaded.config
        config.demo = true
        config.mode = .development
        var entries = loaded.entries
        if let i = entries.firstIndex(where: { $0.library == testPatternLibrary }) {
            entries[i].enabled = true
        } else {
            entries.append(PluginEntry(name: "test_pattern_source", library: testPatternLibrary, enabled: true, required: false, config: [:],
                                       mark: SourceMark(source: "--demo", line: 0, column: 0)))
        }
        return Daemon.Loaded(config: config, entries: entries, pluginsPath: loaded.pluginsPath)
    }

    /// One token per role from the first auth provider that can issue them; nil when none can.
    static func tokens(from providers: [any AuthProvider]) -> [(Role, String)]? {
        guard let issuer = providers.lazy.compactMap({ $0 as? CredentialIssuer }).first else { return nil }
        return try? Role.allCases.map { role in
            (role, try issuer.issueCredential(user: "demo-\(role.name)", role: role, validFor: tokenLifetime))
        }
    }

    /// The banner's lines. `host` is the listening address; a wildcard one is shown as localhost.
    static func banner(host: String, port: Int, tls: Bool, websocketPath: String, consoleDir: String, tokens: [(Role, String)]?) -> String {
        let name = host == "0.0.0.0" || host == "::" || host.isEmpty ? "localhost" : (host.contains(":") ? "[\(host)]" : host)
        let base = "\(name):\(port)"
        let ws = "\(tls ? "wss" : "ws")://\(base)\(websocketPath)"
        var lines = [
            "camera-service demo",
            "  console   " + (consoleDir.isEmpty ? "(none: server.console_dir is empty)" : "\(tls ? "https" : "http")://\(base)/"),
            "  api       \(ws)",
        ]
        if let tokens {
            for (role, token) in tokens { lines.append("  \(role.name)" + String(repeating: " ", count: 10 - role.name.count) + token) }
            lines.append("  The tokens work until this demo stops (its secret is made for this run). Paste one into the console, or:")
            lines.append("    python3 -m websockets \(ws)")
            lines.append(#"    {"jsonrpc":"2.0","method":"authenticate","params":{"auth_token":"<a token above>"},"id":1}"#)
            lines.append(#"    {"jsonrpc":"2.0","method":"get_camera_list","id":2}"#)
        } else {
            lines.append("  (no enabled auth plugin can issue tokens, so none are shown)")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
