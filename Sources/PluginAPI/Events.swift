/// A real-time event for subscribed clients (`subscribe_events`).
public struct Event: Sendable {
    /// The topic, e.g. ``EventTopic/cameraConnected`` or a plugin's declared `<plugin>.<name>`.
    public var topic: String
    /// The event's fields; the host adds `timestamp` and `seq`.
    public var params: JSONObject
    /// The lowest role that may receive it.
    public var visibleTo: Role

    /// An event on `topic` with `params`, visible to viewers unless `visibleTo` says otherwise.
    public init(topic: String, params: JSONObject, visibleTo: Role = .viewer) {
        self.topic = topic
        self.params = params
        self.visibleTo = visibleTo
    }
}

/// The topics of the client contract. The host publishes them from what capabilities report
/// (camera, stream, recording and storage changes); plugins declare topics of their own.
public enum EventTopic {
    /// `camera.connected`: a camera appeared or came back.
    public static let cameraConnected = "camera.connected"
    /// `camera.disconnected`: a camera was unplugged (it stays listed as `DISCONNECTED`).
    public static let cameraDisconnected = "camera.disconnected"
    /// `camera.status_change`: a camera's status or details changed.
    public static let cameraStatusChange = "camera.status_change"
    /// `camera.capability_detected`: a listed camera's capabilities changed without a connect.
    public static let cameraCapabilityDetected = "camera.capability_detected"
    /// `recording.start`: a recording started (its first file is being written).
    public static let recordingStart = "recording.start"
    /// `recording.stop`: a recording ended, whatever the reason.
    public static let recordingStop = "recording.stop"
    /// `recording.progress`: a running recording's progress, sent periodically while it runs.
    public static let recordingProgress = "recording.progress"
    /// `recording.error`: a recording ended by a fault (published right after its `recording.stop`).
    public static let recordingError = "recording.error"
    /// `snapshot.taken`: a snapshot was written.
    public static let snapshotTaken = "snapshot.taken"
    /// `snapshot.error`: a snapshot failed.
    public static let snapshotError = "snapshot.error"
    /// `stream.started`: a camera's stream became ready on the media server.
    public static let streamStarted = "stream.started"
    /// `stream.stopped`: a camera's stream is no longer published (stopped, closed after its last reader, or failed).
    public static let streamStopped = "stream.stopped"
    /// `system.health`: a component's health or the overall health changed.
    public static let systemHealth = "system.health"
    /// `system.startup`: the daemon started serving.
    public static let systemStartup = "system.startup"
    /// `system.shutdown`: the daemon is stopping.
    public static let systemShutdown = "system.shutdown"
    /// `storage.warning`: storage usage crossed the warn or block threshold, up or back down.
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

    /// Topic `name` with its documentation line, visible to viewers unless `visibleTo` says otherwise.
    public init(_ name: String, summary: String, visibleTo: Role = .viewer) {
        self.name = name
        self.summary = summary
        self.visibleTo = visibleTo
    }
}

/// Thrown by ``EventPublisher/declare(_:)`` for a topic name that is not the plugin's or is taken.
public struct EventTopicError: Error, Sendable, CustomStringConvertible {
    /// The topic name that was refused.
    public let topic: String
    /// Why it was refused.
    public let problem: String
    /// An error for `topic` saying what is wrong with it.
    public init(topic: String, problem: String) {
        self.topic = topic
        self.problem = problem
    }
    /// `event topic '<topic>': <problem>`.
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
