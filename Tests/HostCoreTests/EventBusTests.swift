@testable import HostCore
import Glibc
import PluginAPI
import Synchronization
import Testing

/// Collects what the bus hands on, per connection, in order (the network thread's place).
final class DeliveryCollector: NotificationTarget {
    private let got = Mutex<[UInt64: [JSONValue]]>([:])

    func deliver(_ notification: [UInt8], to ref: ConnectionRef) {
        let message = (try? JSONValue.parse(notification, maxDepth: 16)) ?? .null
        got.withLock { $0[ref.id, default: []].append(message) }
    }

    func messages(_ id: UInt64) -> [JSONValue] { got.withLock { $0[id] ?? [] } }
    func topics(_ id: UInt64) -> [String] { messages(id).compactMap { $0["method"]?.stringValue } }
    func seqs(_ id: UInt64) -> [Int] { messages(id).compactMap { $0["params"]?["seq"]?.intValue } }
}

/// The event bus without a network: topics, filters, the role re-checked at delivery, seq
/// numbering under concurrent publishers, a subscriber that never drains.
@Suite struct EventBusTests {
    let sessions = SessionRegistry()
    let bus: EventBus
    let out = DeliveryCollector()

    init() {
        bus = EventBus(sessions: sessions)
        bus.attach(target: out)
    }

    /// An open connection with `role` (nil: not authenticated).
    @discardableResult
    func connect(_ id: UInt64, _ role: Role?, expiresAt: Double? = nil) -> ConnectionRef {
        let ref = ConnectionRef(fd: Int32(id), id: id)
        sessions.open(ref, remoteHost: "127.0.0.1")
        if let role { sessions.setPrincipal(id, Principal(userID: "u\(id)", role: role, authType: .jwt, expiresAt: expiresAt), sessionID: "s\(id)") }
        return ref
    }

    func subscribe(_ ref: ConnectionRef, _ topics: [String], filters: JSONObject = [:]) {
        #expect(bus.subscribe(ref, topics: topics, filters: filters) != nil)
    }

    func publish(_ topic: String, _ params: JSONObject = [:], visibleTo: Role = .viewer) {
        bus.publish(Event(topic: topic, params: params, visibleTo: visibleTo))
    }

    @Test func onlySubscribedTopicsAreDeliveredWithSeqAndTimestamp() {
        let a = connect(1, .viewer), b = connect(2, .viewer)
        subscribe(a, [EventTopic.cameraConnected, EventTopic.snapshotTaken])
        subscribe(b, [EventTopic.snapshotTaken])
        publish(EventTopic.cameraConnected, ["device": "camera0"])
        publish(EventTopic.snapshotTaken, ["device": "camera0"])
        publish(EventTopic.recordingStart, ["device": "camera0"])  // nobody's topic
        #expect(out.topics(1) == [EventTopic.cameraConnected, EventTopic.snapshotTaken])
        #expect(out.topics(2) == [EventTopic.snapshotTaken])
        #expect(out.seqs(1) == [1, 2] && out.seqs(2) == [2])  // one numbering for everyone
        let first = out.messages(1).first
        #expect(first?["jsonrpc"] == "2.0" && first?["id"] == nil && first?["params"]?["device"] == "camera0")
        #expect(first?["params"]?["timestamp"]?.stringValue?.hasSuffix("Z") == true)
        #expect(bus.counters.published == 3 && bus.counters.delivered == 3)
    }

    @Test func unsubscribingStopsDeliveryAndAClosedConnectionIsForgotten() {
        let a = connect(1, .viewer)
        subscribe(a, [EventTopic.snapshotTaken, EventTopic.recordingStart])
        #expect(bus.unsubscribe(1, topics: [EventTopic.snapshotTaken]) == [EventTopic.snapshotTaken])
        publish(EventTopic.snapshotTaken)
        publish(EventTopic.recordingStart)
        #expect(out.topics(1) == [EventTopic.recordingStart])
        bus.connectionClosed(1)
        publish(EventTopic.recordingStart)
        #expect(out.topics(1) == [EventTopic.recordingStart])
        #expect(bus.stats(for: 1).clients == 0)
        // A connection already gone gets no subscription at all.
        #expect(bus.subscribe(ConnectionRef(fd: 9, id: 99), topics: [EventTopic.recordingStart], filters: [:]) == nil)
    }

    @Test func filtersMatchExactlyOnEveryField() {
        let a = connect(1, .viewer)
        subscribe(a, [EventTopic.snapshotTaken], filters: ["device": "camera0", "format": "jpg"])
        publish(EventTopic.snapshotTaken, ["device": "camera0", "format": "jpg", "n": 1])
        publish(EventTopic.snapshotTaken, ["device": "camera0", "format": "png"])
        publish(EventTopic.snapshotTaken, ["device": "camera1", "format": "jpg"])
        publish(EventTopic.snapshotTaken, ["device": "camera0"])  // a missing field does not match
        publish(EventTopic.snapshotTaken, ["device": "camera00", "format": "jpg"])  // nor a prefix
        #expect(out.messages(1).map { $0["params"]?["n"] } == [1])
    }

    @Test func theRoleIsCheckedWhenTheEventIsDelivered() {
        let viewer = connect(1, .viewer), op = connect(2, .operator), anon = connect(3, nil)
        let expired = connect(4, .admin, expiresAt: HostClock.now() - 1)
        for ref in [viewer, op, anon, expired] { subscribe(ref, [EventTopic.recordingStart]) }
        publish(EventTopic.recordingStart, ["n": 1], visibleTo: .operator)
        publish(EventTopic.recordingStart, ["n": 2])
        #expect(out.messages(1).map { $0["params"]?["n"] } == [2])
        #expect(out.messages(2).map { $0["params"]?["n"] } == [1, 2])
        #expect(out.messages(3).isEmpty && out.messages(4).isEmpty)
        // The operator's identity changes to viewer: operator-only events stop at once.
        sessions.setPrincipal(2, Principal(userID: "u2", role: .viewer, authType: .jwt, expiresAt: nil), sessionID: "s2")
        publish(EventTopic.recordingStart, ["n": 3], visibleTo: .operator)
        #expect(out.messages(2).map { $0["params"]?["n"] } == [1, 2])
        // Logged out (identity gone): nothing, even for viewer events.
        sessions.setPrincipal(1, nil, sessionID: nil)
        publish(EventTopic.recordingStart, ["n": 4])
        #expect(out.messages(1).map { $0["params"]?["n"] } == [2])
    }

    @Test func aDeclaredTopicsVisibilityIsTheFloor() {
        bus.topics.add(EventTopicDescriptor("plug.secret", summary: "", visibleTo: .admin), owner: "plug")
        let op = connect(1, .operator), admin = connect(2, .admin)
        subscribe(op, ["plug.secret"])
        subscribe(admin, ["plug.secret"])
        publish("plug.secret", [:], visibleTo: .viewer)  // the publisher cannot lower it
        #expect(out.messages(1).isEmpty && out.topics(2) == ["plug.secret"])
    }

    @Test func seqIsOneOrderUnderConcurrentPublishers() async {
        let refs = (1...2).map { connect(UInt64($0), .viewer) }
        for ref in refs { subscribe(ref, [EventTopic.snapshotTaken, EventTopic.recordingProgress]) }
        // Threads of their own (not the two-thread task pool), started together, so their
        // publishes really overlap.
        let publishers = 6, each = 800
        let ready = Atomic<Int>(0), done = Atomic<Int>(0)
        for p in 0..<publishers {
            spawnThread { [bus] in
                ready.add(1, ordering: .sequentiallyConsistent)
                while ready.load(ordering: .sequentiallyConsistent) < publishers { sched_yield() }
                for i in 0..<each {
                    bus.publish(Event(topic: p % 2 == 0 ? EventTopic.snapshotTaken : EventTopic.recordingProgress, params: ["p": .int(p), "i": .int(i)]))
                }
                done.add(1, ordering: .sequentiallyConsistent)
            }
        }
        while done.load(ordering: .sequentiallyConsistent) < publishers { try? await Task.sleep(for: .milliseconds(5)) }
        for ref in refs {
            // Every subscriber saw every event, numbered 1…N with no gap and in that order.
            let seqs = out.seqs(ref.id)
            #expect(seqs.count == publishers * each)
            let outOfOrder = zip(seqs, seqs.dropFirst()).filter { $0.1 != $0.0 + 1 }.count
            #expect(seqs.first == 1 && outOfOrder == 0, "\(outOfOrder) deliveries out of seq order")
            // And each publisher's own events in the order it published them.
            let mine = out.messages(ref.id).filter { $0["params"]?["p"] == 3 }.compactMap { $0["params"]?["i"]?.intValue }
            #expect(mine == Array(0..<each))
        }
    }

    @Test func aSubscriberThatNeverDrainsHoldsUpNobody() {
        // The bus never waits for a connection: a subscriber that reads nothing is the network
        // thread's to close (1008); here both are handed every event, the other one in order.
        let stuck = connect(1, .viewer), reader = connect(2, .viewer)
        subscribe(stuck, [EventTopic.snapshotTaken])
        subscribe(reader, [EventTopic.snapshotTaken])
        for i in 0..<5000 { publish(EventTopic.snapshotTaken, ["i": .int(i), "pad": .string(String(repeating: "x", count: 200))]) }
        #expect(out.seqs(2) == Array(1...5000) && out.seqs(1).count == 5000)
    }

    @Test func legacyNotificationsGoToEveryAuthenticatedConnection() {
        connect(1, .viewer)
        connect(2, nil)
        connect(3, .admin, expiresAt: HostClock.now() - 1)
        bus.broadcastLegacy(method: "camera_status_update", params: ["device": "camera0"])
        #expect(out.topics(1) == ["camera_status_update"] && out.messages(2).isEmpty && out.messages(3).isEmpty)
        #expect(out.messages(1).first?["params"]?["seq"] == nil)  // not a topic event: no seq
    }
}
