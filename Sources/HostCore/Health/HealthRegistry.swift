import PluginAPI
import Synchronization

/// The health of one part of the daemon, as `get_status` and `/health/detailed` report it.
struct ComponentReport: Sendable, Equatable {
    var name: String
    var status: HealthStatus
    var message: String
    var lastChecked: Double
    var details: JSONObject = [:]

    var json: JSONObject {
        var o: JSONObject = ["status": .string(status.rawValue), "message": .string(message), "last_checked": .string(HostClock.rfc3339(lastChecked))]
        for (k, v) in details where o[k] == nil { o[k] = v }
        return o
    }
}

/// Every component's health: the host's own (computed from live state), those plugins report
/// (`PluginContext.health`), and each plugin's load status. Publishes `system.health` when a
/// component's status, or the overall status, changes.
final class HealthRegistry: Sendable {
    struct Reported: Sendable {
        var owner: String
        var health: ComponentHealth
        var at: Double
    }
    private let reported = Mutex<[String: Reported]>([:])
    private let published = Mutex<[String: HealthStatus]?>(nil)
    private let host: @Sendable () -> [ComponentReport]
    private let plugins: @Sendable () -> [PluginStatus]
    private let events: EventBus
    private let logger: Logger
    /// Names of the host's own components (no plugin may report under them).
    static let hostComponents = ["websocket_server", "camera_monitor"]

    init(host: @escaping @Sendable () -> [ComponentReport], plugins: @escaping @Sendable () -> [PluginStatus], events: EventBus, logger: Logger) {
        self.host = host
        self.plugins = plugins
        self.events = events
        self.logger = logger
    }

    /// The reporter plugin `owner` gets.
    func reporter(for owner: String, pluginNames: @escaping @Sendable () -> [String]) -> any HealthReporter {
        PluginHealthReporter(registry: self, owner: owner, pluginNames: pluginNames)
    }

    /// Takes a plugin's report; false (and logged once) when the name belongs to someone else.
    func report(_ component: String, _ health: ComponentHealth, owner: String, pluginNames: [String]) -> Bool {
        let taken = HealthRegistry.hostComponents.contains(component) || (component != owner && pluginNames.contains(component))
        guard Identifier.isValid(component), !taken else {
            logger.warning("plugin \(owner) reported health for '\(component)', a name it may not use; ignored")
            return false
        }
        let accepted = reported.withLock { r -> Bool in
            if let existing = r[component], existing.owner != owner { return false }
            r[component] = Reported(owner: owner, health: health, at: HostClock.now())
            return true
        }
        if !accepted { logger.warning("plugin \(owner) reported health for '\(component)', which another plugin reports; ignored") }
        if accepted { reevaluate() }
        return accepted
    }

    /// Every component: the host's, the reported ones, then each plugin (unless it reports
    /// under its own name, which then wins over its load status).
    func components() -> [ComponentReport] {
        let now = HostClock.now()
        var out = host()
        let reports = reported.withLock { $0 }
        for (name, r) in reports.sorted(by: { $0.key < $1.key }) {
            out.append(ComponentReport(name: name, status: r.health.status, message: r.health.message, lastChecked: r.at, details: r.health.details))
        }
        for p in plugins() where reports[p.name] == nil {
            switch p.state {
            case .active:
                out.append(ComponentReport(name: p.name, status: .healthy, message: "v\(p.version) (\(p.kinds.joined(separator: ", ")))", lastChecked: now))
            case .failed:
                out.append(ComponentReport(name: p.name, status: .unhealthy, message: p.error ?? "failed to load", lastChecked: now))
            case .disabled:
                out.append(ComponentReport(name: p.name, status: .disabled, message: "disabled in plugins.yaml", lastChecked: now))
            }
        }
        return out
    }

    /// Unhealthy when the server does not serve; degraded when any component is unhealthy or
    /// degraded; else healthy.
    static func overall(_ components: [ComponentReport]) -> HealthStatus {
        if components.first(where: { $0.name == "websocket_server" })?.status == .unhealthy { return .unhealthy }
        if components.contains(where: { $0.status == .unhealthy || $0.status == .degraded }) { return .degraded }
        return .healthy
    }

    /// Compares with what was last published and sends `system.health` for each change.
    func reevaluate() {
        let now = components()
        let overall = HealthRegistry.overall(now)
        var statuses: [String: HealthStatus] = ["": overall]
        for c in now { statuses[c.name] = c.status }
        let previous: [String: HealthStatus]? = published.withLock { p in
            defer { p = statuses }
            return p
        }
        guard let previous else { return }  // the first evaluation is the baseline
        let overallBefore = previous[""] ?? overall
        var announced = false
        for c in now where previous[c.name] != c.status {
            announced = true
            var params: JSONObject = ["status": .string(overall.rawValue), "component": .string(c.name),
                                      "component_status": .string(c.status.rawValue), "message": .string(c.message)]
            if let before = previous[c.name] { params["previous_component_status"] = .string(before.rawValue) }
            if overallBefore != overall { params["previous_status"] = .string(overallBefore.rawValue) }
            events.publish(Event(topic: EventTopic.systemHealth, params: params))
        }
        if !announced && overallBefore != overall {
            events.publish(Event(topic: EventTopic.systemHealth, params: ["status": .string(overall.rawValue), "previous_status": .string(overallBefore.rawValue)]))
        }
    }
}

/// The ``HealthReporter`` a plugin gets.
final class PluginHealthReporter: HealthReporter {
    let registry: HealthRegistry
    let owner: String
    let pluginNames: @Sendable () -> [String]
    init(registry: HealthRegistry, owner: String, pluginNames: @escaping @Sendable () -> [String]) {
        self.registry = registry
        self.owner = owner
        self.pluginNames = pluginNames
    }
    func report(_ component: String, _ health: ComponentHealth) {
        _ = registry.report(component, health, owner: owner, pluginNames: pluginNames())
    }
}
