import PluginAPI
import Synchronization

/// One event topic: the contract's, or one a plugin declared.
struct TopicInfo: Sendable, Equatable {
    var name: String
    var summary: String
    var visibleTo: Role
    /// `core` or the declaring plugin.
    var owner: String
}

/// Every topic clients may subscribe to.
final class TopicRegistry: Sendable {
    private let topics: Mutex<[String: TopicInfo]>

    init() {
        var t: [String: TopicInfo] = [:]
        for name in EventTopic.all { t[name] = TopicInfo(name: name, summary: TopicRegistry.contractSummary(name), visibleTo: .viewer, owner: "core") }
        topics = Mutex(t)
    }

    func lookup(_ name: String) -> TopicInfo? { topics.withLock { $0[name] } }

    /// Sorted by name.
    var all: [TopicInfo] { topics.withLock { Array($0.values) }.sorted { $0.name < $1.name } }

    /// Why `topic` cannot be declared by `owner`, nil when it can.
    func problem(declaring topic: EventTopicDescriptor, owner: String) -> String? {
        let prefix = owner + "."
        guard topic.name.hasPrefix(prefix), topic.name.count > prefix.count,
              topic.name.dropFirst(prefix.count).utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F || $0 == 0x2E }),
              topic.name.count <= 128 else {
            return "a plugin's topics are named '\(owner).<name>' (lower-case letters, digits, '_' and '.')"
        }
        if let existing = lookup(topic.name) { return "already declared by \(existing.owner)" }
        return nil
    }

    func add(_ topic: EventTopicDescriptor, owner: String) {
        topics.withLock { $0[topic.name] = TopicInfo(name: topic.name, summary: topic.summary, visibleTo: topic.visibleTo, owner: owner) }
    }

    static func contractSummary(_ name: String) -> String {
        switch name {
        case EventTopic.cameraConnected: return "A camera appeared (or came back)."
        case EventTopic.cameraDisconnected: return "A camera was unplugged."
        case EventTopic.cameraStatusChange: return "A camera's status or details changed."
        case EventTopic.cameraCapabilityDetected: return "A camera's capabilities were probed."
        case EventTopic.recordingStart: return "A recording started."
        case EventTopic.recordingStop: return "A recording ended (asked to, its duration reached, or a fault)."
        case EventTopic.recordingProgress: return "Periodic progress of a recording (file, seconds, bytes)."
        case EventTopic.recordingError: return "A recording ended because of a fault."
        case EventTopic.snapshotTaken: return "A snapshot was written."
        case EventTopic.snapshotError: return "A snapshot failed."
        case EventTopic.streamStarted: return "A camera's stream became ready."
        case EventTopic.streamStopped: return "A camera's stream is no longer published."
        case EventTopic.systemHealth: return "The overall health or a component's health changed."
        case EventTopic.systemStartup: return "The daemon started."
        case EventTopic.systemShutdown: return "The daemon is stopping."
        case EventTopic.storageWarning: return "Storage usage crossed the warn or block threshold."
        default: return ""
        }
    }
}

/// The ``EventPublisher`` a plugin gets: it publishes the contract's topics and its own;
/// declarations are staged until its activation succeeds.
final class PluginEventPublisher: EventPublisher {
    let bus: EventBus
    let owner: String
    let logger: Logger
    private struct State {
        var pending: [EventTopicDescriptor] = []
        var committed = false
        var warned: Set<String> = []
    }
    private let state = Mutex(State())

    init(bus: EventBus, owner: String, logger: Logger) {
        self.bus = bus
        self.owner = owner
        self.logger = logger
    }

    func publish(_ event: Event) {
        if let topic = bus.topics.lookup(event.topic), topic.owner == "core" || topic.owner == owner {
            bus.publish(event)
            return
        }
        let firstTime = state.withLock { $0.warned.insert(event.topic).inserted }
        if firstTime { logger.warning("event topic '\(event.topic)' is neither the contract's nor declared by \(owner); its events are dropped") }
    }

    func declare(_ topic: EventTopicDescriptor) throws {
        if let problem = bus.topics.problem(declaring: topic, owner: owner) { throw EventTopicError(topic: topic.name, problem: problem) }
        try state.withLock { (s: inout State) throws(EventTopicError) in
            guard !s.committed else { throw EventTopicError(topic: topic.name, problem: "topics are declared during activation") }
            guard !s.pending.contains(where: { $0.name == topic.name }) else { throw EventTopicError(topic: topic.name, problem: "declared twice") }
            s.pending.append(topic)
        }
    }

    func checkCommit() throws(EventTopicError) {
        for t in state.withLock({ $0.pending }) {
            if let problem = bus.topics.problem(declaring: t, owner: owner) { throw EventTopicError(topic: t.name, problem: problem) }
        }
    }

    func commit() {
        let topics = state.withLock { s in
            s.committed = true
            defer { s.pending = [] }
            return s.pending
        }
        for t in topics { bus.topics.add(t, owner: owner) }
    }
}
