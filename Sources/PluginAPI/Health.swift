/// How well a component works, as `get_status` and `/health/detailed` spell it.
public struct HealthStatus: Sendable, Hashable, RawRepresentable, CustomStringConvertible, Comparable {
    enum Value: String, Sendable { case healthy, degraded, unhealthy, disabled }
    let value: Value
    init(_ value: Value) { self.value = value }
    /// Parses a status name (`healthy`, `degraded`, `unhealthy`, `disabled`); nil for anything else.
    public init?(rawValue: String) {
        guard let v = Value(rawValue: rawValue) else { return nil }
        value = v
    }
    /// The status name, lower case: `healthy`, `degraded`, `unhealthy` or `disabled`.
    public var rawValue: String { value.rawValue }
    /// The same as ``rawValue``.
    public var description: String { rawValue }
    /// Working.
    public static let healthy = HealthStatus(.healthy)
    /// Working with reduced service (e.g. a dependency is down but the rest keeps serving).
    public static let degraded = HealthStatus(.degraded)
    /// Not working.
    public static let unhealthy = HealthStatus(.unhealthy)
    /// Switched off by configuration (does not count against the overall status).
    public static let disabled = HealthStatus(.disabled)

    /// Worse is greater: disabled < healthy < degraded < unhealthy.
    public static func < (a: HealthStatus, b: HealthStatus) -> Bool { a.severity < b.severity }
    var severity: Int {
        switch value {
        case .disabled: return 0
        case .healthy: return 1
        case .degraded: return 2
        case .unhealthy: return 3
        }
    }
}

/// The health of one component, as a plugin reports it.
public struct ComponentHealth: Sendable, Equatable {
    /// How well it works.
    public var status: HealthStatus
    /// What is wrong, or a short status line.
    public var message: String
    /// Component-specific figures (e.g. a circuit breaker's state, the last error, the time of
    /// the last success), listed with the component.
    public var details: JSONObject

    /// A component's health; `details` is empty by default.
    public init(status: HealthStatus, message: String, details: JSONObject = [:]) {
        self.status = status
        self.message = message
        self.details = details
    }
}

/// Where a plugin reports the health of the components it runs (e.g. the media backend
/// reports `mediamtx`). The host lists every reported component in `get_status` and
/// `/health/detailed`, counts it in the overall status, and publishes `system.health` when
/// a component's status or the overall status changes.
public protocol HealthReporter: AnyObject, Sendable {
    /// Sets the current health of `component` (an identifier, `^[a-z][a-z0-9_]{0,63}$`, unique
    /// across the daemon; the host's own components and other plugins' names are refused).
    /// Cheap: call it whenever the state is known, the host only reacts to changes.
    func report(_ component: String, _ health: ComponentHealth)
}
