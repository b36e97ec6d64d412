/// A container `start_recording` offers.
public struct RecordingFormat: Sendable, Hashable, RawRepresentable, CustomStringConvertible {
    enum Value: String, Sendable { case fmp4, mp4, mkv }
    let value: Value
    init(_ value: Value) { self.value = value }
    /// Parses a format's name (`fmp4`, `mp4`, `mkv`); nil for anything else.
    public init?(rawValue: String) {
        guard let v = Value(rawValue: rawValue) else { return nil }
        value = v
    }
    /// The contract's name.
    public var rawValue: String { value.rawValue }
    /// The same as ``rawValue``.
    public var description: String { rawValue }
    /// Fragmented MP4 (playable while being written).
    public static let fmp4 = RecordingFormat(.fmp4)
    /// MP4.
    public static let mp4 = RecordingFormat(.mp4)
    /// Matroska.
    public static let mkv = RecordingFormat(.mkv)
    /// The file extension.
    public var fileExtension: String { value == .mkv ? "mkv" : "mp4" }
}

/// A recording's state, as the contract spells it.
public struct RecordingStatus: Sendable, Hashable, RawRepresentable, CustomStringConvertible {
    enum Value: String, Sendable { case recording = "RECORDING", stopped = "STOPPED", error = "ERROR" }
    let value: Value
    init(_ value: Value) { self.value = value }
    /// Parses the contract's spelling (`RECORDING`, `STOPPED`, `ERROR`); nil for anything else.
    public init?(rawValue: String) {
        guard let v = Value(rawValue: rawValue) else { return nil }
        value = v
    }
    /// The contract's spelling: `RECORDING`, `STOPPED` or `ERROR`.
    public var rawValue: String { value.rawValue }
    /// The same as ``rawValue``.
    public var description: String { rawValue }
    /// In progress.
    public static let recording = RecordingStatus(.recording)
    /// Ended cleanly (asked to, or its duration was reached).
    public static let stopped = RecordingStatus(.stopped)
    /// Ended by a fault (FFmpeg died, the camera went away, the disk filled up, …).
    public static let error = RecordingStatus(.error)
}

/// Why a recording ended.
public struct RecordingStopCause: Sendable, Hashable, RawRepresentable, CustomStringConvertible {
    enum Value: String, Sendable {
        case requested, durationReached = "duration_reached", processFailed = "process_failed",
             cameraDisconnected = "camera_disconnected", mediaBackendFailed = "media_backend_failed",
             storageFull = "storage_full", shutdown
    }
    let value: Value
    init(_ value: Value) { self.value = value }
    /// Parses a cause's name (`requested`, `duration_reached`, …); nil for anything else.
    public init?(rawValue: String) {
        guard let v = Value(rawValue: rawValue) else { return nil }
        value = v
    }
    /// The cause's name as `recording.stop` carries it in `cause`, e.g. `duration_reached`.
    public var rawValue: String { value.rawValue }
    /// The same as ``rawValue``.
    public var description: String { rawValue }
    /// `stop_recording`.
    public static let requested = RecordingStopCause(.requested)
    /// The requested `duration` was reached.
    public static let durationReached = RecordingStopCause(.durationReached)
    /// The recording process died or failed.
    public static let processFailed = RecordingStopCause(.processFailed)
    /// The camera was unplugged.
    public static let cameraDisconnected = RecordingStopCause(.cameraDisconnected)
    /// The stream it read ended because the media server failed or restarted.
    public static let mediaBackendFailed = RecordingStopCause(.mediaBackendFailed)
    /// Free space fell below the block threshold.
    public static let storageFull = RecordingStopCause(.storageFull)
    /// The daemon is stopping.
    public static let shutdown = RecordingStopCause(.shutdown)
    /// Whether a recording that ends for this reason ended cleanly (STOPPED, not ERROR).
    public var isClean: Bool { value == .requested || value == .durationReached || value == .shutdown }
}

/// A recording to start.
public struct RecordingRequest: Sendable {
    /// The camera to record.
    public var device: String
    /// How to read the camera directly; nil when the source cannot provide it now.
    public var input: CaptureInput?
    /// The camera's published stream; nil without a media backend.
    public var stream: (any StreamSource)?
    /// The directory segments are written to (the storage provider's, for this camera).
    public var directory: String
    /// The container; nil for the engine's configured default.
    public var format: RecordingFormat?
    /// Stop by itself after this many seconds; nil for until stopped.
    public var durationSeconds: Int?

    /// A request, field by field.
    public init(device: String, input: CaptureInput?, stream: (any StreamSource)?, directory: String,
                format: RecordingFormat?, durationSeconds: Int?) {
        self.device = device
        self.input = input
        self.stream = stream
        self.directory = directory
        self.format = format
        self.durationSeconds = durationSeconds
    }
}

/// A recording in progress or just ended.
public struct RecordingState: Sendable, Equatable {
    /// The camera recorded.
    public var device: String
    /// In progress, stopped, or ended by a fault.
    public var status: RecordingStatus
    /// The container written.
    public var format: RecordingFormat
    /// The directory the segments are in.
    public var directory: String
    /// The first segment's file name (the recording's name in replies).
    public var filename: String
    /// The segment being written now (the last one once ended).
    public var currentFile: String
    /// Every segment so far, oldest first (file names in the request's directory).
    public var files: [String]
    /// Seconds since the epoch.
    public var startTime: Double
    /// When it ended, seconds since the epoch; nil while recording.
    public var endTime: Double?
    /// The requested duration, nil for until stopped.
    public var durationLimit: Int?
    /// Bytes written so far, all segments.
    public var bytesWritten: Int
    /// Why it ended; nil while recording.
    public var cause: RecordingStopCause?
    /// More on the cause (FFmpeg's last words, …), empty when none.
    public var detail: String

    /// A state, field by field.
    public init(device: String, status: RecordingStatus, format: RecordingFormat, directory: String, filename: String, currentFile: String,
                files: [String], startTime: Double, endTime: Double?, durationLimit: Int?, bytesWritten: Int,
                cause: RecordingStopCause?, detail: String) {
        self.device = device
        self.status = status
        self.format = format
        self.directory = directory
        self.filename = filename
        self.currentFile = currentFile
        self.files = files
        self.startTime = startTime
        self.endTime = endTime
        self.durationLimit = durationLimit
        self.bytesWritten = bytesWritten
        self.cause = cause
        self.detail = detail
    }

    /// The absolute path of segment `file`.
    public func path(of file: String) -> String { directory.hasSuffix("/") ? directory + file : directory + "/" + file }

    /// Seconds recorded (to the end, or to `now` while recording).
    public func elapsed(now: Double) -> Double { max(0, (endTime ?? now) - startTime) }
}

/// What happened to a recording, as reported to a ``CaptureEventSink``.
public struct RecordingEventKind: Sendable, Hashable, RawRepresentable, CustomStringConvertible {
    enum Value: String, Sendable { case started, segmentStarted = "segment_started", segmentCompleted = "segment_completed", progress, ended }
    let value: Value
    init(_ value: Value) { self.value = value }
    /// Parses a kind's name (`started`, `segment_started`, `segment_completed`, `progress`, `ended`); nil for anything else.
    public init?(rawValue: String) {
        guard let v = Value(rawValue: rawValue) else { return nil }
        value = v
    }
    /// The kind's name: `started`, `segment_started`, `segment_completed`, `progress` or `ended`.
    public var rawValue: String { value.rawValue }
    /// The same as ``rawValue``.
    public var description: String { rawValue }
    /// Recording began (the first segment file is open).
    public static let started = RecordingEventKind(.started)
    /// A new segment file was opened (`file`).
    public static let segmentStarted = RecordingEventKind(.segmentStarted)
    /// A segment file is complete and will not change (`file`).
    public static let segmentCompleted = RecordingEventKind(.segmentCompleted)
    /// Periodic progress (current file, seconds, bytes).
    public static let progress = RecordingEventKind(.progress)
    /// The recording ended (see the state's `status` and `cause`); every file is complete.
    public static let ended = RecordingEventKind(.ended)
}

/// One recording event: what happened, the recording's state, and the file it concerns.
public struct RecordingEvent: Sendable, Equatable {
    /// What happened.
    public var kind: RecordingEventKind
    /// The recording's state when it happened.
    public var recording: RecordingState
    /// The segment file concerned (for segment events), else nil.
    public var file: String?
    /// An event; `file` only for segment events.
    public init(kind: RecordingEventKind, recording: RecordingState, file: String? = nil) {
        self.kind = kind
        self.recording = recording
        self.file = file
    }
}

/// Receives recording events from the ``CaptureEngine``: the host turns them into
/// `recording.*` events and `recording_status_update`, and tells the storage provider which
/// files are being written and which are complete.
public protocol CaptureEventSink: AnyObject, Sendable {
    /// A recording changed as `event` says.
    func recordingChanged(_ event: RecordingEvent)
}

/// A capability: takes snapshots and records video (FFmpeg, or direct capture).
public protocol CaptureEngine: AnyObject, Sendable {
    /// The snapshot formats it can write.
    var snapshotFormats: [SnapshotFormat] { get }
    /// The recording formats it can write.
    var recordingFormats: [RecordingFormat] { get }
    /// Starts; recording events are reported to `sink` until ``stop()``.
    func start(_ sink: any CaptureEventSink) async throws
    /// Writes one image of `request.device` to `request.outputPath`.
    func takeSnapshot(_ request: SnapshotRequest) async throws -> SnapshotResult
    /// Starts recording; `-32020` if the camera is already recording.
    func startRecording(_ request: RecordingRequest) async throws -> RecordingState
    /// Ends `device`'s recording for `cause`; `-32020` if it is not recording. Returns once
    /// every file is complete.
    func stopRecording(device: String, cause: RecordingStopCause) async throws -> RecordingState
    /// The recordings in progress.
    func activeRecordings() async -> [RecordingState]
    /// `device` went away: end what reads it (recordings end with ``RecordingStopCause/cameraDisconnected``).
    func cameraUnavailable(_ device: String) async
    /// Ends every recording (``RecordingStopCause/shutdown``) and stops background work.
    func stop() async
}
