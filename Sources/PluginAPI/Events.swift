/// A real-time event for subscribed clients (`subscribe_events`).
public struct Event: Sendable {
    /// The topic, e.g. ``EventTopic/cameraConnected`` or a plugin's declared `<plugin>.<name>`.
    public var topic: String
    /// The event's fields; the host adds `timestamp` and `seq`.
    public var params: JSONObject
    /// The lowest role that may receive it.
    public var visibleTo: Role

    public init(topic: String, params: JSONObject, visibleTo: Role = .viewer) {
        self.topic = topic
        self.params = params
        self.visibleTo = visibleTo
    }
}

/// The topics of the client contract. The host publishes them from what capabilities report
/// (camera, stream, recording and storage changes); plugins declare topics of their own.
public enum EventTopic {
    public static let cameraConnected = "camera.connected"
    public static let cameraDisconnected = "camera.disconnected"
    public static let cameraStatusChange = "camera.status_change"
    public static let cameraCapabilityDetected = "camera.capability_detected"
    public static let recordingStart = "recording.start"
    public static let recordingStop = "recording.stop"
    public static let recordingProgress = "recording.progress"
    public static let recordingError = "recording.error"
    public static let snapshotTaken = "snapshot.taken"
    public static let snapshotError = "snapshot.error"
    public static let streamStarted = "stream.started"
    public static let streamStopped = "stream.stopped"
    public static let systemHealth = "system.health"
    public static let systemStartup = "system.startup"
    public static let systemShutdown = "system.shutdown"
    public static let storageWarning = "storage.warning"

    /// Every topic of the contract.
    public static let all: [String] = [
        cameraConnected, cameraDisconnected, cameraStatusChange, cameraCapabilityDetected,
        recordingStart, recordingStop, recordingProgress, recordingError, snapshotTaken, snapshotError,
        streamStarted, streamStopped, systemHealth, systemStartup, systemShutdown, storageWarning,
    ]
}

/// A topic a plugin adds to the contract's, for its own events.
public struct EventTopicDescriptor: Sendable, Equatable {
    /// `<plugin name>.<name>`, e.g. `mediamtx_backend.path_restored`: the plugin's name, a dot,
    /// then lower-case letters, digits and underscores.
    public var name: String
    /// One line for the API documentation (`rpc.discover` lists it).
    public var summary: String
    /// The lowest role that may subscribe to it and receive its events.
    public var visibleTo: Role

    public init(_ name: String, summary: String, visibleTo: Role = .viewer) {
        self.name = name
        self.summary = summary
        self.visibleTo = visibleTo
    }
}

/// Thrown by ``EventPublisher/declare(_:)`` for a topic name that is not the plugin's or is taken.
public struct EventTopicError: Error, Sendable, CustomStringConvertible {
    public let topic: String
    public let problem: String
    public init(topic: String, problem: String) {
        self.topic = topic
        self.problem = problem
    }
    public var description: String { "event topic '\(topic)': \(problem)" }
}

/// Publishes events to subscribed clients; never blocks (slow clients are the host's problem).
public protocol EventPublisher: AnyObject, Sendable {
    /// Delivers `event` to every subscribed connection allowed to see it. A topic that is
    /// neither the contract's nor declared by this plugin is dropped (and logged once).
    func publish(_ event: Event)
    /// Adds a topic of this plugin's own, during ``Plugin/activate(_:)``: from then on
    /// `subscribe_events` accepts it and `rpc.discover` lists it.
    func declare(_ topic: EventTopicDescriptor) throws
}
