import PluginAPI
import Synchronization

/// Request, connection and event counters, cheap enough to leave on: one lock and a
/// dictionary update per request.
package final class Metrics: RPCObserver {
    struct MethodStats {
        var count: UInt64 = 0
        var errors: UInt64 = 0
        var latency = Histogram()
    }
    struct State {
        var methods: [String: MethodStats] = [:]
        var requests: UInt64 = 0
        var errors: UInt64 = 0
        var rejectedEnvelopes: UInt64 = 0
        var active = 0
        var peak = 0
        var accepted: UInt64 = 0
        var rejected: [String: UInt64] = [:]
        var eventsDropped: UInt64 = 0
        var lastCPU: (wall: Double, cpu: Double)?
    }
    private let state = Mutex(State())
    /// The label unknown method names share (the dispatcher passes it).
    static let unknownMethod = RPCDispatcher.unknownMethodLabel

    package init() {}

    // MARK: RPCObserver

    package func completed(method: String, error: Int?, seconds: Double) {
        let name = method
        state.withLock { s in
            s.requests += 1
            if error != nil { s.errors += 1 }
            s.methods[name, default: MethodStats()].count += 1
            if error != nil { s.methods[name, default: MethodStats()].errors += 1 }
            s.methods[name, default: MethodStats()].latency.record(seconds)
        }
    }

    package func rejected(_ error: RPCError) {
        state.withLock { s in
            s.requests += 1
            s.errors += 1
            s.rejectedEnvelopes += 1
        }
    }

    // MARK: connections and events

    func connectionOpened() {
        state.withLock { s in
            s.active += 1
            s.accepted += 1
            s.peak = max(s.peak, s.active)
        }
    }

    func connectionClosed() { state.withLock { $0.active -= 1 } }
    func connectionRejected(_ reason: String) { state.withLock { $0.rejected[reason, default: 0] += 1 } }
    func eventDropped() { state.withLock { $0.eventsDropped += 1 } }

    package var activeConnections: Int { state.withLock { $0.active } }

    /// CPU use since the previous call, percent of one core.
    func cpuPercent(_ p: ProcessStats) -> Double {
        let now = HostClock.monotonic()
        return state.withLock { s in
            defer { s.lastCPU = (now, p.cpuSeconds) }
            guard let last = s.lastCPU, now > last.wall else { return 0 }
            return ((p.cpuSeconds - last.cpu) / (now - last.wall) * 1000).rounded() / 10
        }
    }

    /// A consistent copy for reporting.
    struct Snapshot {
        var methods: [(name: String, stats: MethodStats)]
        var requests: UInt64
        var errors: UInt64
        var rejectedEnvelopes: UInt64
        var active: Int
        var peak: Int
        var accepted: UInt64
        var rejected: [(String, UInt64)]
        var eventsDropped: UInt64
    }

    func snapshot() -> Snapshot {
        state.withLock { s in
            Snapshot(methods: s.methods.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, requests: s.requests, errors: s.errors,
                     rejectedEnvelopes: s.rejectedEnvelopes, active: s.active, peak: s.peak, accepted: s.accepted,
                     rejected: s.rejected.sorted { $0.key < $1.key }, eventsDropped: s.eventsDropped)
        }
    }
}
