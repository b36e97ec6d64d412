import PluginAPI

/// One entry of plugins.yaml.
package struct PluginEntry: Sendable {
    /// Unique name (`jwt_auth`), used in logs, status and as the log label.
    package var name: String
    /// A bare library name (`JWTAuth` → `libJWTAuth.so` searched in the plugin directories),
    /// or a path (absolute, or relative to plugins.yaml).
    package var library: String
    package var enabled: Bool
    /// A required plugin that fails to load stops start-up (exit code 2).
    package var required: Bool
    /// The plugin's own `config:` mapping.
    package var config: JSONObject
    /// Where the entry is, for messages.
    package var mark: SourceMark
}

/// plugins.yaml: `plugins:` followed by a list of entries.
package enum PluginsFile {
    package static func load(path: String) throws(ConfigError) -> [PluginEntry] {
        let text: [UInt8]
        do { text = try FileIO.read(path) } catch {
            throw ConfigError(SourceMark(source: path, line: 0, column: 0), "cannot read plugins file: \(error)")
        }
        return try parse(YAMLParser.parse(text, source: path))
    }

    package static func parse(_ root: YAMLNode) throws(ConfigError) -> [PluginEntry] {
        var top = try ConfigReader(root, path: "", fallbackMark: root.mark)
        let list = top.value("plugins")
        try top.finish()
        guard let list else { return [] }
        guard case .sequence(let items, _) = list else { throw ConfigError(list.mark, "plugins: expected a list of plugin entries") }
        var entries: [PluginEntry] = []
        for item in items {
            var r = try ConfigReader(item, path: "plugins[\(entries.count)]", fallbackMark: item.mark)
            guard case .mapping = item else { throw ConfigError(item.mark, "plugins: each entry must be a mapping") }
            guard let name = try r.optionalString("name") else { throw ConfigError(item.mark, "plugin entry without 'name'") }
            guard Identifier.isValid(name) else {
                throw ConfigError(item["name"]?.mark ?? item.mark, "plugin name '\(name)' must match ^[a-z][a-z0-9_]{0,63}$")
            }
            guard !entries.contains(where: { $0.name == name }) else {
                throw ConfigError(item["name"]?.mark ?? item.mark, "plugin name '\(name)' is used twice")
            }
            guard let library = try r.optionalString("library"), !library.isEmpty else {
                throw ConfigError(item.mark, "plugin '\(name)': missing 'library'")
            }
            let enabled = try r.bool("enabled", default: true)
            let required = try r.bool("required", default: false)
            var config = JSONObject()
            if let c = r.value("config") {
                guard case .object(let o) = c.json else { throw ConfigError(c.mark, "plugin '\(name)': 'config' must be a mapping") }
                config = o
            }
            try r.finish()
            entries.append(PluginEntry(name: name, library: library, enabled: enabled, required: required, config: config, mark: item.mark))
        }
        return entries
    }
}
