/// Whether calls to a dependency are let through, as a value (no clock, no I/O: the caller
/// passes the time). Closed: calls go through and consecutive failures are counted; at the
/// threshold it opens. Open: calls fail at once until a retry time, which backs off
/// exponentially with jitter on each reopening. Half-open: probes go through; a number of
/// successes in a row (the confirmation) closes it again, a failure reopens it.
public struct CircuitBreaker: Sendable, Equatable {
    public enum State: Sendable, Equatable {
        case closed(failures: Int)
        case open(until: Double)
        case halfOpen(successes: Int)
    }

    public struct Settings: Sendable, Equatable {
        /// Consecutive failures that open the circuit.
        public var failureThreshold = 3
        /// Successes in a row, half-open, before it closes again.
        public var confirmations = 2
        /// The first wait once open, seconds; doubled on each reopening.
        public var baseBackoff = 1.0
        public var maxBackoff = 60.0
        /// ± this share of the wait, so many clients do not retry in step.
        public var jitter = 0.2
        public init() {}
    }

    public let settings: Settings
    public private(set) var state: State = .closed(failures: 0)
    /// How many times it opened since it last closed (drives the backoff).
    public private(set) var openings = 0
    public private(set) var lastError: String?
    public private(set) var lastSuccess: Double?
    public private(set) var lastFailure: Double?

    public init(settings: Settings = Settings()) { self.settings = settings }

    /// The state's name, as health reports show it.
    public var stateName: String {
        switch state {
        case .closed: return "closed"
        case .open: return "open"
        case .halfOpen: return "half_open"
        }
    }

    /// Whether a call may go out at `now` (an open circuit past its retry time turns half-open).
    public mutating func allows(now: Double) -> Bool {
        switch state {
        case .closed, .halfOpen: return true
        case .open(let until):
            guard now >= until else { return false }
            state = .halfOpen(successes: 0)
            return true
        }
    }

    /// When an open circuit lets a probe through, nil otherwise.
    public var retryAt: Double? { if case .open(let t) = state { return t }; return nil }

    public mutating func succeeded(now: Double) {
        lastSuccess = now
        switch state {
        case .closed: state = .closed(failures: 0)
        case .halfOpen(let n):
            if n + 1 >= settings.confirmations {
                state = .closed(failures: 0)
                openings = 0
            } else {
                state = .halfOpen(successes: n + 1)
            }
        case .open: break  // a late answer to a call made before it opened: the probe decides
        }
    }

    /// A failed call; `random` in 0..<1 places the jitter.
    public mutating func failed(now: Double, error: String, random: Double) {
        lastFailure = now
        lastError = error
        switch state {
        case .closed(let n):
            if n + 1 >= settings.failureThreshold { open(now: now, random: random) } else { state = .closed(failures: n + 1) }
        case .halfOpen:
            open(now: now, random: random)
        case .open:
            break
        }
    }

    /// The wait before the next probe after the `openings`-th opening.
    public func backoff(random: Double) -> Double {
        let base = min(settings.maxBackoff, settings.baseBackoff * Double(1 << min(max(openings - 1, 0), 20)))
        return max(0.05, base * (1 + settings.jitter * (2 * random - 1)))
    }

    private mutating func open(now: Double, random: Double) {
        openings += 1
        state = .open(until: now + backoff(random: random))
    }
}
