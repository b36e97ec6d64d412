/// A real-time event for subscribed clients (`subscribe_events`).
public struct Event: Sendable {
    /// The topic, e.g. ``EventTopic/cameraConnected``.
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

/// The topics of the client contract.
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

    /// Every topic a client may subscribe to.
    public static let all: [String] = [
        cameraConnected, cameraDisconnected, cameraStatusChange, cameraCapabilityDetected,
        recordingStart, recordingStop, recordingProgress, recordingError, snapshotTaken, snapshotError,
        streamStarted, streamStopped, systemHealth, systemStartup, systemShutdown, storageWarning,
    ]
}

/// Publishes events to subscribed clients; never blocks (slow clients are the host's problem).
public protocol EventPublisher: AnyObject, Sendable {
    /// Delivers `event` to every subscribed connection allowed to see it.
    func publish(_ event: Event)
}
