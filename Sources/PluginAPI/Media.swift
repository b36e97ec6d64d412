/// The URLs at which the media server serves a camera.
public struct StreamURLs: Sendable, Equatable {
    /// `rtsp://host:8554/<device>`.
    public var rtsp: String
    /// The WebRTC player page, `http://host:8889/<device>` (WHEP at `…/whep`).
    public var webrtc: String
    /// `http://host:8888/<device>/index.m3u8`.
    public var hls: String
    /// The three URLs.
    public init(rtsp: String, webrtc: String, hls: String) {
        self.rtsp = rtsp
        self.webrtc = webrtc
        self.hls = hls
    }
}

/// The state of a camera's stream, as the contract spells it.
public struct StreamStatus: Sendable, Hashable, RawRepresentable, CustomStringConvertible {
    enum Value: String, Sendable { case active = "ACTIVE", inactive = "INACTIVE", starting = "STARTING", error = "ERROR" }
    let value: Value
    init(_ value: Value) { self.value = value }
    /// Parses the contract's spelling (`ACTIVE`, `INACTIVE`, `STARTING`, `ERROR`); nil for anything else.
    public init?(rawValue: String) {
        guard let v = Value(rawValue: rawValue) else { return nil }
        value = v
    }
    /// The contract's spelling: `ACTIVE`, `INACTIVE`, `STARTING` or `ERROR`.
    public var rawValue: String { value.rawValue }
    /// The same as ``rawValue``.
    public var description: String { rawValue }
    /// Published and ready: readers get frames.
    public static let active = StreamStatus(.active)
    /// Configured, nothing publishing.
    public static let inactive = StreamStatus(.inactive)
    /// The publisher is starting.
    public static let starting = StreamStatus(.starting)
    /// Publishing failed, or the media server cannot be reached.
    public static let error = StreamStatus(.error)
}

/// The state of one published stream.
public struct StreamState: Sendable, Equatable {
    /// The media server's path name (the camera's device id).
    public var name: String
    /// The camera.
    public var device: String
    /// The stream's status.
    public var status: StreamStatus
    /// Whether the media server has a publisher with tracks.
    public var ready: Bool
    /// Readers other than the media backend's own.
    public var viewers: Int
    /// Bytes sent to readers since the stream started.
    public var bytesSent: Int
    /// When the stream became ready (seconds since the epoch), nil when not ready.
    public var startTime: Double?
    /// When a reader or the publisher was last seen, nil when never.
    public var lastActivity: Double?
    /// What publishes, as the media server names it (`rtspSession`), empty when nothing.
    public var source: String
    /// Why the stream is in ERROR (the media server's own words when it gave any), else empty.
    public var detail: String
    /// Seconds after its last reader that an idle stream stops being published; nil when
    /// something inside the daemon holds it (a recording).
    public var closesAfter: Double?

    /// A stream's state; `detail` defaults to empty and `closesAfter` to nil.
    public init(name: String, device: String, status: StreamStatus, ready: Bool, viewers: Int, bytesSent: Int,
                startTime: Double?, lastActivity: Double?, source: String, detail: String = "", closesAfter: Double? = nil) {
        self.name = name
        self.device = device
        self.status = status
        self.ready = ready
        self.viewers = viewers
        self.bytesSent = bytesSent
        self.startTime = startTime
        self.lastActivity = lastActivity
        self.source = source
        self.detail = detail
        self.closesAfter = closesAfter
    }
}

/// What happened to a stream, as reported to a ``MediaEventSink``.
public struct StreamChange: Sendable, Hashable, RawRepresentable, CustomStringConvertible {
    enum Value: String, Sendable { case started, stopped, failed }
    let value: Value
    init(_ value: Value) { self.value = value }
    /// Parses a change's name (`started`, `stopped`, `failed`); nil for anything else.
    public init?(rawValue: String) {
        guard let v = Value(rawValue: rawValue) else { return nil }
        value = v
    }
    /// The change's name: `started`, `stopped` or `failed`.
    public var rawValue: String { value.rawValue }
    /// The same as ``rawValue``.
    public var description: String { rawValue }
    /// The stream became ready (`stream.started`).
    public static let started = StreamChange(.started)
    /// The stream is no longer published (`stream.stopped`).
    public static let stopped = StreamChange(.stopped)
    /// Publishing failed (`stream.stopped` with the reason).
    public static let failed = StreamChange(.failed)
}

/// Receives stream changes from the ``MediaBackend`` (the host turns them into events).
public protocol MediaEventSink: AnyObject, Sendable {
    /// A stream changed as `change` says; `state` is how it is now.
    func streamChanged(_ state: StreamState, change: StreamChange)
}

/// Why a reader needs a camera's stream; the media backend keeps a stream published for a
/// while after the last use, and for how long depends on the purpose.
public struct StreamPurpose: Sendable, Hashable, RawRepresentable, CustomStringConvertible {
    enum Value: String, Sendable { case viewing, snapshot, recording }
    let value: Value
    init(_ value: Value) { self.value = value }
    /// Parses a purpose's name (`viewing`, `snapshot`, `recording`); nil for anything else.
    public init?(rawValue: String) {
        guard let v = Value(rawValue: rawValue) else { return nil }
        value = v
    }
    /// The purpose's name: `viewing`, `snapshot` or `recording`.
    public var rawValue: String { value.rawValue }
    /// The same as ``rawValue``.
    public var description: String { rawValue }
    /// Clients watching (`start_streaming`).
    public static let viewing = StreamPurpose(.viewing)
    /// Snapshots and the snapshot frame cache.
    public static let snapshot = StreamPurpose(.snapshot)
    /// A recording: the stream stays while it is held.
    public static let recording = StreamPurpose(.recording)
}

/// Whether a camera's stream can be read now (the capture engine picks its tier from this).
public struct StreamReadiness: Sendable, Equatable {
    /// The media backend can reach its media server (its circuit is closed).
    public var backendAvailable: Bool
    /// The stream is published and has tracks: a reader gets frames at once.
    public var ready: Bool
    /// The backend's publisher is running or starting, so an exclusive device is held by it
    /// and must not be opened directly.
    public var publisherActive: Bool

    /// Readiness, flag by flag.
    public init(backendAvailable: Bool, ready: Bool, publisherActive: Bool) {
        self.backendAvailable = backendAvailable
        self.ready = ready
        self.publisherActive = publisherActive
    }
}

/// A hold on a published stream: while it exists the stream stays published.
public protocol StreamLease: AnyObject, Sendable {
    /// Ends the hold (idempotent). The stream then lingers for its purpose's idle time.
    func release()
}

/// One camera's stream, as the media backend offers it to readers inside the daemon.
public protocol StreamSource: AnyObject, Sendable {
    /// The camera.
    var device: String { get }
    /// Where a local reader (FFmpeg in the capture engine) reads the stream: RTSP on loopback.
    var readURL: String { get }
    /// The stream's state now, without waiting on the media server.
    func readiness() -> StreamReadiness
    /// Publishes the stream if needed and waits until it is ready; the lease keeps it
    /// published. Throws `-32050` (with the media server's reason) when it is not ready within
    /// `timeout` seconds or the media server cannot be reached.
    func acquire(for purpose: StreamPurpose, timeout: Double) async throws -> any StreamLease
}

/// What `stop_streaming` did.
public struct StreamStopOutcome: Sendable, Equatable {
    /// The stream afterwards.
    public var state: StreamState
    /// Still published because something inside the daemon reads it (a recording).
    public var stillPublishing: Bool
    /// Why it is still published, or what was stopped.
    public var message: String
    /// An outcome, field by field.
    public init(state: StreamState, stillPublishing: Bool, message: String) {
        self.state = state
        self.stillPublishing = stillPublishing
        self.message = message
    }
}

/// A capability: publishes cameras through a media server (MediaMTX). The device is read once,
/// by the publisher the media server runs; viewers, snapshots and recordings read its stream.
public protocol MediaBackend: AnyObject, Sendable {
    /// Starts health checks; stream changes are reported to `sink` until ``stop()``.
    func start(_ sink: any MediaEventSink) async throws
    /// A camera can be published from `input` (it connected, or its input changed).
    func publish(_ camera: CameraInfo, input: CaptureInput) async
    /// A camera went away: stop publishing it and forget its stream.
    func unpublish(device: String) async
    /// The URLs clients use for `device`. `clientHost` is the host name the client used to
    /// reach the daemon (nil for events), used when no public host is configured.
    func streamURLs(for device: String, clientHost: String?) -> StreamURLs
    /// Publishes `device` for viewers and answers once it is ready (`-32050` otherwise).
    func startStream(device: String) async throws -> StreamState
    /// Ends publishing `device`, unless something inside the daemon still reads it.
    func stopStream(device: String) async throws -> StreamStopOutcome
    /// The state of `device`'s stream (`-32010` for a camera the backend does not publish).
    func streamState(device: String) async throws -> StreamState
    /// Every stream the backend publishes.
    func streams() async throws -> [StreamState]
    /// `device`'s stream for readers inside the daemon; nil for a camera it does not publish.
    func streamSource(for device: String) -> (any StreamSource)?
    /// Stops health checks and what the backend runs.
    func stop() async
}
