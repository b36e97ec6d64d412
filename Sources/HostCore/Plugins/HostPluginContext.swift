import PluginAPI

/// The ``PluginContext`` a plugin receives: its entry's configuration and the host services
/// it may use, each stamped with its name.
final class HostPluginContext: PluginContext {
    let pluginName: String
    let config: JSONObject
    let logger: Logger
    let events: any EventPublisher
    let methods: any MethodRegistry
    let http: any HTTPRouteRegistry
    let health: any HealthReporter
    let processes: ProcessLauncher
    let mode: RunMode
    let env: [String: String]
    let baseDirectory: String
    let dataDirectory: String
    let isDemo: Bool

    init(entry: PluginEntry, logger: Logger, events: any EventPublisher, methods: any MethodRegistry, http: any HTTPRouteRegistry,
         health: any HealthReporter, mode: RunMode, env: [String: String], baseDirectory: String, dataDirectory: String, demo: Bool) {
        pluginName = entry.name
        config = entry.config
        self.logger = logger
        self.events = events
        self.methods = methods
        self.http = http
        self.health = health
        processes = ProcessLauncher(owner: entry.name, logger: logger)
        self.mode = mode
        self.env = env
        self.baseDirectory = baseDirectory
        self.dataDirectory = dataDirectory
        isDemo = demo
    }

    func environment(_ name: String) -> String? { env[name] }
}

/// What a plugin's context is made of, per plugin: the host's services wrapped for it.
/// Staged parts (methods, routes, topics) are committed only when activation succeeds.
struct PluginServices {
    let methods: OwnedRegistry
    let routes: PluginRouteRegistry
    let events: PluginEventPublisher
    let context: HostPluginContext

    /// Everything staged becomes live, or nothing (a clash anywhere undoes the rest).
    /// (Plugins load one after another, so nothing can change between the checks and the commits.)
    func commit() throws {
        try methods.checkCommit()
        try routes.checkCommit()
        try events.checkCommit()
        try methods.commit()
        try routes.commit()
        events.commit()
    }
}
