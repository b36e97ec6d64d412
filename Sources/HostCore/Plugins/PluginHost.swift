import PluginAPI
import Synchronization

/// How one plugins.yaml entry fared at start-up.
public struct PluginStatus: Sendable {
    public enum State: String, Sendable {
        case active, disabled, failed
    }
    public var name: String
    public var library: String
    public var path: String?
    public var state: State
    public var required: Bool
    public var version: String
    public var summary: String
    public var kinds: [String]
    public var error: String?
}

/// Loads, activates and shuts down the plugins, and holds what they provide.
public final class PluginHost: Sendable {
    private struct State {
        var statuses: [PluginStatus] = []
        var plugins: [(name: String, plugin: any Plugin)] = []
        var capabilities = Capabilities()
    }
    private let state = Mutex(State())

    public init() {}

    public var capabilities: Capabilities { state.withLock { $0.capabilities } }
    public var statuses: [PluginStatus] { state.withLock { $0.statuses } }

    /// A required plugin failed: start-up must stop.
    public struct RequiredPluginFailed: Error, CustomStringConvertible {
        public let name: String
        public let reason: String
        public var description: String { "required plugin '\(name)' failed: \(reason)" }
    }

    /// Loads every entry in order; logs one line per plugin with its status.
    public func loadAll(_ entries: [PluginEntry], dirs: [String], baseDir: String, logger: Logger,
                        makeContext: (PluginEntry, OwnedRegistry) -> any PluginContext, methods: MethodTable) async throws(RequiredPluginFailed) {
        for entry in entries {
            guard entry.enabled else {
                record(PluginStatus(name: entry.name, library: entry.library, path: nil, state: .disabled, required: entry.required,
                                    version: "", summary: "", kinds: [], error: nil))
                logger.info("plugin \(entry.name): disabled in plugins.yaml", [("plugin", entry.name), ("status", "disabled")])
                continue
            }
            var path: String?
            do {
                let resolved = try PluginLoader.resolve(entry.library, dirs: dirs, baseDir: baseDir)
                path = resolved
                let lib = try PluginLoader.load(path: resolved)
                let caps: PluginCapabilities
                let registry = methods.stagedRegistry(owner: "plugin \(entry.name)")
                do { caps = try await lib.plugin.activate(makeContext(entry, registry)) } catch {
                    await lib.plugin.shutdown()
                    throw PluginLoadError.activationFailed(path: resolved, message: "\(error)")
                }
                do {
                    // Capabilities and methods are taken together or not at all.
                    try state.withLock { s in
                        var combined = s.capabilities
                        try combined.add(caps, from: entry.name)
                        try registry.commit()
                        s.capabilities = combined
                    }
                } catch {
                    await lib.plugin.shutdown()
                    throw PluginLoadError.activationFailed(path: resolved, message: "\(error)")
                }
                let info = lib.plugin.info
                state.withLock { $0.plugins.append((entry.name, lib.plugin)) }
                record(PluginStatus(name: entry.name, library: entry.library, path: resolved, state: .active, required: entry.required,
                                    version: info.version, summary: info.summary, kinds: caps.kinds, error: nil))
                let provides = caps.kinds.isEmpty ? "methods only" : caps.kinds.joined(separator: ", ")
                logger.info("plugin \(entry.name): active (\(resolved), v\(info.version), provides \(provides))",
                            [("plugin", entry.name), ("status", "active"), ("path", resolved)])
            } catch {
                let reason = "\(error)"
                record(PluginStatus(name: entry.name, library: entry.library, path: path, state: .failed, required: entry.required,
                                    version: "", summary: "", kinds: [], error: reason))
                if entry.required {
                    logger.error("plugin \(entry.name): FAILED (required): \(reason)", [("plugin", entry.name), ("status", "failed")])
                    throw RequiredPluginFailed(name: entry.name, reason: reason)
                }
                logger.warning("plugin \(entry.name): FAILED, continuing without it: \(reason)", [("plugin", entry.name), ("status", "failed")])
            }
        }
    }

    private func record(_ s: PluginStatus) { state.withLock { $0.statuses.append(s) } }

    /// Stops every active plugin, last loaded first.
    public func shutdownAll() async {
        let plugins = state.withLock { $0.plugins }
        for p in plugins.reversed() { await p.plugin.shutdown() }
    }
}

/// The ``PluginContext`` a plugin receives.
final class HostPluginContext: PluginContext {
    let pluginName: String
    let config: JSONObject
    let logger: Logger
    let events: any EventPublisher
    let methods: any MethodRegistry
    let mode: RunMode
    let env: [String: String]
    let baseDirectory: String

    init(pluginName: String, config: JSONObject, logger: Logger, events: any EventPublisher, methods: any MethodRegistry,
         mode: RunMode, env: [String: String], baseDirectory: String) {
        self.pluginName = pluginName
        self.config = config
        self.logger = logger
        self.events = events
        self.methods = methods
        self.mode = mode
        self.env = env
        self.baseDirectory = baseDirectory
    }

    func environment(_ name: String) -> String? { env[name] }
}
