import PluginAPI

/// The store's configuration (the plugin's `config:`; every key in docs/configuration.md).
public struct FileStoreSettings: Sendable, Equatable {
    /// Absolute directories: one subdirectory per camera in each.
    public var recordingsDir: String
    public var snapshotsDir: String
    /// The SQLite catalogue.
    public var catalogPath: String
    /// Percent of the filesystem.
    public var warnPercent = 80.0
    public var blockPercent = 90.0
    /// Seconds between space measurements.
    public var checkInterval = 5.0
    /// Seconds between full rescans of the directories (inotify reports changes in between).
    public var rescanInterval = 600.0
    /// Seconds changes are collected before the catalogue is updated.
    public var debounce = 0.2
    /// Probe files with ffprobe for duration and resolution.
    public var probe = true
    public var ffprobe = "ffprobe"
    public var probeTimeout = 10.0
    /// The policy until one is set with `set_retention_policy` (then the catalogue's wins).
    public var retention = RetentionPolicy(type: .manual, enabled: false, maxAgeDays: nil, maxSizeGB: nil)
    /// Seconds between retention passes.
    public var retentionInterval = 3600.0

    static let keys = ["recordings_dir", "snapshots_dir", "catalog", "warn_threshold", "block_threshold", "check_interval",
                       "rescan_interval", "debounce", "probe", "ffprobe", "probe_timeout", "retention"]
    static let retentionKeys = ["policy_type", "enabled", "max_age_days", "max_size_gb", "interval"]

    /// Reads a `config:` mapping. Media directories are relative to plugins.yaml (`resolve`)
    /// and default to `recordings` and `snapshots` in the data directory; the catalogue is
    /// relative to the data directory (`data`).
    public init(_ c: JSONObject, resolve: (String) -> String, data: (String) -> String) throws(PluginConfigError) {
        try c.rejectUnknownKeys(allowed: FileStoreSettings.keys)
        recordingsDir = try FileStoreSettings.directory(c, "recordings_dir", resolve: resolve) ?? data("recordings")
        snapshotsDir = try FileStoreSettings.directory(c, "snapshots_dir", resolve: resolve) ?? data("snapshots")
        guard recordingsDir != snapshotsDir else {
            throw PluginConfigError(key: "snapshots_dir", problem: "must differ from recordings_dir (\(recordingsDir))")
        }
        catalogPath = data(try c.configString("catalog", default: "file-store.sqlite"))
        warnPercent = try c.configDouble("warn_threshold", default: warnPercent, range: 1...100)
        blockPercent = try c.configDouble("block_threshold", default: blockPercent, range: 1...100)
        guard warnPercent < blockPercent else {
            throw PluginConfigError(key: "warn_threshold", problem: "must be below block_threshold (\(warnPercent) ≥ \(blockPercent))")
        }
        checkInterval = try c.configSeconds("check_interval", default: checkInterval, range: 0.1...3600)
        rescanInterval = try c.configSeconds("rescan_interval", default: rescanInterval, range: 0.1...86400)
        debounce = try c.configSeconds("debounce", default: debounce, range: 0...10)
        probe = try c.configBool("probe", default: probe)
        ffprobe = try c.configString("ffprobe", default: ffprobe)
        probeTimeout = try c.configSeconds("probe_timeout", default: probeTimeout, range: 1...600)
        guard let r = (c["retention"] ?? .object([:])).objectValue else { throw PluginConfigError(key: "retention", problem: "expected a mapping") }
        try r.rejectUnknownKeys(allowed: FileStoreSettings.retentionKeys)
        let type = try r.configChoice("policy_type", default: "manual", from: ["age", "size", "manual"])
        retention.type = RetentionPolicyType(rawValue: type) ?? .manual
        retention.enabled = try r.configBool("enabled", default: false)
        if r["max_age_days"].map({ !$0.isNull }) == true {
            retention.maxAgeDays = try r.configDouble("max_age_days", default: 0, range: 0...36500)
        }
        if r["max_size_gb"].map({ !$0.isNull }) == true {
            retention.maxSizeGB = try r.configDouble("max_size_gb", default: 0, range: 0...1_000_000)
        }
        if retention.enabled && retention.type == .age && retention.maxAgeDays == nil {
            throw PluginConfigError(key: "retention.max_age_days", problem: "an enabled age policy needs max_age_days")
        }
        if retention.enabled && retention.type == .size && retention.maxSizeGB == nil {
            throw PluginConfigError(key: "retention.max_size_gb", problem: "an enabled size policy needs max_size_gb")
        }
        retentionInterval = try r.configSeconds("interval", default: retentionInterval, range: 0.1...604800)
    }

    static func directory(_ c: JSONObject, _ key: String, resolve: (String) -> String) throws(PluginConfigError) -> String? {
        guard let s = try c.configOptionalString(key) else { return nil }
        guard !s.isEmpty else { throw PluginConfigError(key: key, problem: "must not be empty") }
        var path = resolve(s)
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        return path
    }
}
