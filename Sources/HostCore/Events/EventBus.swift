import PluginAPI
import Synchronization
import WireProtocols

/// A connection's subscription: topics and exact-match filters. The role that decides what
/// it may see is read from its session at delivery time (it can change or expire).
struct Subscription: Sendable {
    var ref: ConnectionRef
    var topics: Set<String>
    var filters: JSONObject
}

/// Delivers events to connections: topic events to subscribers whose role may see them and
/// whose filters match, the two legacy notifications to every authenticated connection.
/// Every topic event gets the next global `seq`. The host itself publishes here directly;
/// plugins publish through a ``PluginEventPublisher``. Delivery is a post to the network thread
/// (a ``NotificationTarget``); a connection that cannot keep up is closed there (bounded
/// outbound queue, 1008).
package final class EventBus: Sendable {
    private struct State {
        var seq: UInt64 = 0
        var subscriptions: [UInt64: Subscription] = [:]
        var published: UInt64 = 0
        var delivered: UInt64 = 0
    }
    private let state = Mutex(State())
    private let sink = Mutex<(any NotificationTarget)?>(nil)

    let sessions: SessionRegistry
    /// The topics there are (the contract's and the plugins').
    let topics = TopicRegistry()

    package init(sessions: SessionRegistry) { self.sessions = sessions }

    /// Connects the bus to the network thread once the server is up.
    package func attach(_ handle: LoopHandle) { attach(target: handle) }

    /// Where notifications go (the network thread; a collector in tests).
    func attach(target: any NotificationTarget) { sink.withLock { $0 = target } }

    package func publish(_ event: Event) {
        let target = sink.withLock { $0 }
        // A declared topic's own visibility is the floor.
        let visibleTo = max(event.visibleTo, topics.lookup(event.topic)?.visibleTo ?? .viewer)
        // Numbering, matching and posting happen under one lock, so every connection sees
        // `seq` in increasing order even when several threads publish at once.
        state.withLock { s in
            s.seq += 1
            s.published += 1
            var params = event.params
            params["timestamp"] = .string(HostClock.rfc3339(HostClock.now()))
            params["seq"] = .int(Int(s.seq))
            var candidates: [ConnectionRef] = []
            for sub in s.subscriptions.values where sub.topics.contains(event.topic) {
                if sub.filters.allSatisfy({ f in params[f.key] == f.value }) { candidates.append(sub.ref) }
            }
            guard !candidates.isEmpty, let target else { return }
            let roles = sessions.roles(candidates.map(\.id))
            let recipients = candidates.filter { ref in roles[ref.id].map { $0 >= visibleTo } ?? false }
            s.delivered += UInt64(recipients.count)
            guard !recipients.isEmpty else { return }
            var bytes: [UInt8] = []
            JSONRPC.appendNotification(method: event.topic, params: params, to: &bytes)
            for ref in recipients { target.deliver(bytes, to: ref) }
        }
    }

    /// Sends a legacy notification (`camera_status_update`, `recording_status_update`) to every
    /// authenticated connection.
    package func broadcastLegacy(method: String, params: JSONObject) {
        let recipients = sessions.authenticated().map(\.ref)
        guard !recipients.isEmpty, let target = sink.withLock({ $0 }) else { return }
        var bytes: [UInt8] = []
        JSONRPC.appendNotification(method: method, params: params, to: &bytes)
        for ref in recipients { target.deliver(bytes, to: ref) }
    }

    func connectionClosed(_ id: UInt64) {
        _ = state.withLock { $0.subscriptions.removeValue(forKey: id) }
    }

    /// Adds topics (and replaces filters) for a connection; returns its topics now, or nil
    /// when the connection has already gone (nothing is kept for it).
    func subscribe(_ ref: ConnectionRef, topics: [String], filters: JSONObject) -> [String]? {
        state.withLock { s in
            guard sessions.state(ref.id) != nil else { return nil }
            var sub = s.subscriptions[ref.id] ?? Subscription(ref: ref, topics: [], filters: [:])
            sub.topics.formUnion(topics)
            sub.filters = filters
            s.subscriptions[ref.id] = sub
            return sub.topics.sorted()
        }
    }

    /// Removes topics (all when nil); returns the topics removed.
    func unsubscribe(_ id: UInt64, topics: [String]?) -> [String] {
        state.withLock { s in
            guard var sub = s.subscriptions[id] else { return [] }
            let removed = topics.map { Set($0).intersection(sub.topics) } ?? sub.topics
            sub.topics.subtract(removed)
            if sub.topics.isEmpty { s.subscriptions.removeValue(forKey: id) } else { s.subscriptions[id] = sub }
            return removed.sorted()
        }
    }

    /// Counts for `get_subscription_stats`.
    func stats(for id: UInt64) -> (total: Int, clients: Int, topicCounts: [String: Int], mine: [String]) {
        state.withLock { s in
            var counts: [String: Int] = [:]
            for sub in s.subscriptions.values { for t in sub.topics { counts[t, default: 0] += 1 } }
            return (s.subscriptions.values.reduce(0) { $0 + $1.topics.count }, s.subscriptions.count, counts,
                    s.subscriptions[id]?.topics.sorted() ?? [])
        }
    }

    /// Events published and deliveries made since start.
    package var counters: (published: UInt64, delivered: UInt64) { state.withLock { ($0.published, $0.delivered) } }
}
