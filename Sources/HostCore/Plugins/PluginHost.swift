import PluginAPI
import Synchronization

/// How one plugins.yaml entry fared at start-up.
package struct PluginStatus: Sendable {
    package enum State: String, Sendable {
        case active, disabled, failed
    }
    package var name: String
    package var library: String
    package var path: String?
    package var state: State
    package var required: Bool
    package var version: String
    package var summary: String
    /// What it provides: capability kinds, or `methods` when it only adds methods or routes.
    package var kinds: [String]
    package var error: String?
    /// Its children running now (supervised processes).
    var processes: ProcessLauncher?
}

/// Loads, activates and shuts down the plugins, and holds what they provide.
package final class PluginHost: Sendable {
    private struct State {
        var statuses: [PluginStatus] = []
        var plugins: [(name: String, plugin: any Plugin)] = []
        var capabilities = Capabilities()
    }
    private let state = Mutex(State())

    package init() {}

    package var capabilities: Capabilities { state.withLock { $0.capabilities } }
    package var statuses: [PluginStatus] { state.withLock { $0.statuses } }

    /// A required plugin failed: start-up must stop.
    package struct RequiredPluginFailed: Error, CustomStringConvertible {
        package let name: String
        package let reason: String
        package var description: String { "required plugin '\(name)' failed: \(reason)" }
    }

    /// Loads every entry in order; logs one line per plugin with its status.
    func loadAll(_ entries: [PluginEntry], dirs: [String], baseDir: String, logger: Logger,
                 makeServices: (PluginEntry) -> PluginServices) async throws(RequiredPluginFailed) {
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
                let services = makeServices(entry)
                let caps: PluginCapabilities
                do { caps = try await lib.plugin.activate(services.context) } catch {
                    await lib.plugin.shutdown()
                    throw PluginLoadError.activationFailed(path: resolved, message: "\(error)")
                }
                do {
                    // Capabilities, methods, routes and topics are taken together or not at all.
                    try state.withLock { (s: inout State) throws in
                        var combined = s.capabilities
                        try combined.add(caps, from: entry.name)
                        try services.commit()
                        s.capabilities = combined
                    }
                } catch {
                    await lib.plugin.shutdown()
                    throw PluginLoadError.activationFailed(path: resolved, message: "\(error)")
                }
                let info = lib.plugin.info
                state.withLock { $0.plugins.append((entry.name, lib.plugin)) }
                let kinds = caps.kinds.isEmpty ? ["methods"] : caps.kinds
                record(PluginStatus(name: entry.name, library: entry.library, path: resolved, state: .active, required: entry.required,
                                    version: info.version, summary: info.summary, kinds: kinds, error: nil, processes: services.context.processes))
                logger.info("plugin \(entry.name): active (\(resolved), v\(info.version), provides \(kinds.joined(separator: ", ")))",
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
    package func shutdownAll() async {
        let plugins = state.withLock { $0.plugins }
        for p in plugins.reversed() { await p.plugin.shutdown() }
    }
}
