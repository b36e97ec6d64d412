/// The URLs at which the media server serves a camera.
public struct StreamURLs: Sendable, Equatable {
    public var rtsp: String
    public var webrtc: String
    public var hls: String
    public init(rtsp: String, webrtc: String, hls: String) {
        self.rtsp = rtsp
        self.webrtc = webrtc
        self.hls = hls
    }
}

/// The state of one published stream.
public struct StreamState: Sendable, Equatable {
    /// The media server's path name (the camera's device id).
    public var name: String
    /// The camera.
    public var device: String
    /// `ACTIVE`, `INACTIVE`, `STARTING` or `ERROR`.
    public var status: String
    /// Whether the media server has a publisher with tracks.
    public var ready: Bool
    /// Current readers.
    public var viewers: Int
    /// Bytes sent to readers.
    public var bytesSent: Int
    /// When publishing started (seconds since the epoch), nil if not started.
    public var startTime: Double?
    /// The source kind the media server reports.
    public var source: String

    public init(name: String, device: String, status: String, ready: Bool, viewers: Int, bytesSent: Int,
                startTime: Double?, source: String) {
        self.name = name
        self.device = device
        self.status = status
        self.ready = ready
        self.viewers = viewers
        self.bytesSent = bytesSent
        self.startTime = startTime
        self.source = source
    }
}

/// A capability: publishes cameras through a media server (MediaMTX).
public protocol MediaBackend: AnyObject, Sendable {
    /// The URLs clients use for `device`.
    func streamURLs(for device: String) -> StreamURLs
    /// Publishes `device` from `input`; idempotent.
    func startStream(device: String, input: CaptureInput) async throws -> StreamState
    /// Stops publishing `device`.
    func stopStream(device: String) async throws -> StreamState
    /// The state of `device`'s stream.
    func streamState(device: String) async throws -> StreamState
    /// Every stream the media server knows.
    func streams() async throws -> [StreamState]
    /// Whether the media server is reachable.
    func health() async -> ComponentHealth
}

/// The health of one component or plugin.
public struct ComponentHealth: Sendable, Equatable {
    /// `healthy`, `degraded` or `unhealthy`.
    public var status: String
    /// What is wrong, or a short status.
    public var message: String
    public init(status: String, message: String) {
        self.status = status
        self.message = message
    }
    /// A healthy component.
    public static func healthy(_ message: String = "ok") -> ComponentHealth { .init(status: "healthy", message: message) }
}
