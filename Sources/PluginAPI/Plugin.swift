/// What a plugin says about itself.
public struct PluginInfo: Sendable {
    /// A unique name, e.g. `jwt_auth`.
    public var name: String
    /// The plugin's own version.
    public var version: String
    /// One line on what it does.
    public var summary: String
    /// Name, version and one-line summary.
    public init(name: String, version: String, summary: String) {
        self.name = name
        self.version = version
        self.summary = summary
    }
}

/// The capabilities a plugin provides, returned from ``Plugin/activate(_:)``. A plugin may
/// provide none (only methods, routes or commands) or several.
public struct PluginCapabilities: Sendable {
    /// Camera sources (several plugins may provide some; their cameras form one list).
    public var cameraSources: [any CameraSource]
    /// The media backend, if this plugin provides one (at most one per daemon).
    public var mediaBackend: (any MediaBackend)?
    /// The capture engine, if this plugin provides one (at most one per daemon).
    public var captureEngine: (any CaptureEngine)?
    /// An auth provider, if this plugin provides one (providers are chained: the first that accepts a credential wins).
    public var authProvider: (any AuthProvider)?
    /// The storage provider, if this plugin provides one (at most one per daemon).
    public var storageProvider: (any StorageProvider)?

    /// The capabilities given; none by default.
    public init(cameraSources: [any CameraSource] = [], mediaBackend: (any MediaBackend)? = nil,
                captureEngine: (any CaptureEngine)? = nil, authProvider: (any AuthProvider)? = nil,
                storageProvider: (any StorageProvider)? = nil) {
        self.cameraSources = cameraSources
        self.mediaBackend = mediaBackend
        self.captureEngine = captureEngine
        self.authProvider = authProvider
        self.storageProvider = storageProvider
    }

    /// The names of the capabilities present (`camera_source`, `media_backend`, …), for logs
    /// and `get_server_info`.
    public var kinds: [String] {
        var k: [String] = []
        if !cameraSources.isEmpty { k.append("camera_source") }
        if mediaBackend != nil { k.append("media_backend") }
        if captureEngine != nil { k.append("capture_engine") }
        if authProvider != nil { k.append("auth_provider") }
        if storageProvider != nil { k.append("storage_provider") }
        return k
    }
}

/// Whether the daemon runs for real or for development (development relaxes secret checks).
@frozen
public enum RunMode: String, Sendable {
    /// `production`: for real; `development`: secret checks are relaxed.
    case production, development
}

/// What the host gives a plugin when activating it (and when checking its configuration).
public protocol PluginContext: AnyObject, Sendable {
    /// The plugin's entry name in plugins.yaml.
    var pluginName: String { get }
    /// The plugin's `config:` mapping from plugins.yaml (empty when absent).
    var config: JSONObject { get }
    /// A logger labelled with the plugin's name.
    var logger: Logger { get }
    /// Publishes events to clients and declares the plugin's own topics.
    var events: any EventPublisher { get }
    /// Registers the plugin's own JSON-RPC methods.
    var methods: any MethodRegistry { get }
    /// Registers the plugin's HTTP routes (downloads, previews).
    var http: any HTTPRouteRegistry { get }
    /// Reports the health of the components the plugin runs.
    var health: any HealthReporter { get }
    /// Starts supervised child processes (FFmpeg, …), counted and stopped with the daemon.
    var processes: ProcessLauncher { get }
    /// Production or development mode.
    var mode: RunMode { get }
    /// A process environment variable (plugins read their overrides through this, so tests
    /// can supply them).
    func environment(_ name: String) -> String?
    /// The directory of plugins.yaml: relative paths in a plugin's config are relative to it.
    var baseDirectory: String { get }
    /// The daemon's data directory (`data_dir`): where state that must survive restarts goes
    /// (keys, catalogues) unless the plugin's config says otherwise. It exists.
    var dataDirectory: String { get }
    /// True under `camera-service --demo`: the run is a throwaway, so an auth plugin makes a
    /// secret for this run only (the tokens it prints die with it) instead of the configured one.
    var isDemo: Bool { get }
}

extension PluginContext {
    /// Not a demo unless the host says so (hosts built before 1.0's demo mode).
    public var isDemo: Bool { false }

    /// `path` made absolute against ``baseDirectory`` when relative.
    public func resolvePath(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        return baseDirectory == "." || baseDirectory.isEmpty ? path : baseDirectory + "/" + path
    }

    /// `path` made absolute against ``dataDirectory`` when relative.
    public func dataPath(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        return dataDirectory == "." || dataDirectory.isEmpty ? path : dataDirectory + "/" + path
    }
}

/// The entry object of a plugin, returned by its `swiftplugin_create` symbol.
///
/// Conform with a `final class` whose state is immutable or behind a `Mutex`, or an `actor`.
public protocol Plugin: AnyObject, Sendable {
    /// Name, version and summary.
    var info: PluginInfo { get }
    /// Checks the configuration the way ``activate(_:)`` would, without starting anything
    /// (`camera-service --check-config`). Throw ``PluginConfigError`` for a bad entry.
    func check(_ context: any PluginContext) async throws
    /// Reads the configuration, registers methods, routes and topics, and returns the
    /// capabilities. Throwing marks the plugin failed (the daemon stops if it is `required`).
    func activate(_ context: any PluginContext) async throws -> PluginCapabilities
    /// Stops background work before the daemon exits.
    func shutdown() async
    /// Command-line subcommands this plugin offers (default: none).
    func commands() -> [PluginCommand]
}

extension Plugin {
    /// Nothing to check unless the plugin says otherwise.
    public func check(_ context: any PluginContext) async throws {}
}

/// Thrown by a plugin's `activate` or `check` for a bad `config:` entry; the host reports it
/// with the plugin name.
public struct PluginConfigError: Error, Sendable, CustomStringConvertible {
    /// The config key at fault.
    public let key: String
    /// What is wrong with it.
    public let problem: String
    /// An error for `key` saying what is wrong with it.
    public init(key: String, problem: String) {
        self.key = key
        self.problem = problem
    }
    /// `config key '<key>': <problem>`.
    public var description: String { "config key '\(key)': \(problem)" }
}
