/// A snapshot to take.
public struct SnapshotRequest: Sendable {
    public var device: String
    public var input: CaptureInput
    /// Where to write the image (from the ``StorageProvider``).
    public var outputPath: String
    /// `jpg` or `png`.
    public var format: String
    /// JPEG quality 1–100.
    public var quality: Int
    public init(device: String, input: CaptureInput, outputPath: String, format: String, quality: Int) {
        self.device = device
        self.input = input
        self.outputPath = outputPath
        self.format = format
        self.quality = quality
    }
}

/// What a snapshot produced.
public struct SnapshotResult: Sendable {
    public var outputPath: String
    public var fileSize: Int
    /// How it was taken: 1 = frame from a running stream, 2 = quick capture, 3 = full capture.
    public var tier: Int
    /// Age of the frame when written, in milliseconds.
    public var frameAgeMs: Int
    public init(outputPath: String, fileSize: Int, tier: Int, frameAgeMs: Int) {
        self.outputPath = outputPath
        self.fileSize = fileSize
        self.tier = tier
        self.frameAgeMs = frameAgeMs
    }
}

/// A recording to start.
public struct RecordingRequest: Sendable {
    public var device: String
    public var input: CaptureInput
    /// Where to write (from the ``StorageProvider``).
    public var outputPath: String
    /// `fmp4`, `mp4` or `mkv`.
    public var format: String
    /// Stop by itself after this many seconds; nil for until stopped.
    public var durationSeconds: Int?
    public init(device: String, input: CaptureInput, outputPath: String, format: String, durationSeconds: Int?) {
        self.device = device
        self.input = input
        self.outputPath = outputPath
        self.format = format
        self.durationSeconds = durationSeconds
    }
}

/// A recording in progress or just stopped.
public struct RecordingState: Sendable {
    public var device: String
    public var outputPath: String
    public var format: String
    /// `RECORDING`, `STOPPED` or `ERROR`.
    public var status: String
    public var startTime: Double
    public var endTime: Double?
    public var fileSize: Int
    public init(device: String, outputPath: String, format: String, status: String, startTime: Double,
                endTime: Double?, fileSize: Int) {
        self.device = device
        self.outputPath = outputPath
        self.format = format
        self.status = status
        self.startTime = startTime
        self.endTime = endTime
        self.fileSize = fileSize
    }
}

/// A capability: takes snapshots and records video (FFmpeg, or direct capture).
public protocol CaptureEngine: AnyObject, Sendable {
    /// Writes one image of `request.device` to `request.outputPath`.
    func takeSnapshot(_ request: SnapshotRequest) async throws -> SnapshotResult
    /// Starts recording; `-32020` if the camera is already recording.
    func startRecording(_ request: RecordingRequest) async throws -> RecordingState
    /// Stops `device`'s recording; `-32020` if it is not recording.
    func stopRecording(device: String) async throws -> RecordingState
    /// The recordings in progress.
    func activeRecordings() async -> [RecordingState]
}

/// A capability: checks credentials (JWT, API keys) and says who the caller is.
public protocol AuthProvider: AnyObject, Sendable {
    /// Verifies `token`; `type` is `jwt`, `api_key` or `auto`. Throws `-32001` with `reason`
    /// `auth_failed` or `token_expired` for a credential it rejects.
    func authenticate(token: String, type: String) async throws -> Principal
}
