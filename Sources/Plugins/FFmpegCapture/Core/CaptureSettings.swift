import PluginAPI

/// The capture engine's configuration (the plugin's `config:`; every key in docs/configuration.md).
public struct CaptureSettings: Sendable, Equatable {
    public var ffmpeg = "ffmpeg"
    /// Per tier: 1 a frame from the published stream, 2 the stream started first, 3 direct.
    public var streamSnapshotTimeout = 3.0
    public var startedSnapshotTimeout = 10.0
    public var directSnapshotTimeout = 5.0
    public var jpegQuality = 85
    /// Snapshot processes at once; more requests wait their turn within their timeout.
    public var maxConcurrentSnapshots = 2
    /// Frames a direct capture skips first (cameras settle their exposure).
    public var directSkipFrames = 3
    /// The frame cache: one low-rate reader of a stream keeps the latest frame in memory.
    public var cacheEnabled = true
    public var cacheFPS = 2.0
    /// The cache reader stops this long after the last snapshot of its camera.
    public var cacheIdle = 60.0
    public var defaultFormat = RecordingFormat.fmp4
    /// Seconds per segment file (at least 2: segments are named by the second they start).
    public var segmentDuration = 60.0
    public var progressInterval = 5.0
    /// How long `start_recording` waits for the stream (or the direct input) to deliver the first segment.
    public var recordingStartTimeout = 10.0
    /// How long a recording may take to finish its files once asked to stop.
    public var stopTimeout = 10.0
    /// Encoding when recording from the device directly (no stream to copy).
    public var directBitrate = 2_000_000
    public var directPreset = "veryfast"
    public init() {}

    static let keys = ["ffmpeg", "stream_snapshot_timeout", "started_snapshot_timeout", "direct_snapshot_timeout", "jpeg_quality",
                       "max_concurrent_snapshots", "direct_skip_frames", "snapshot_cache", "cache_fps", "cache_idle", "default_format",
                       "segment_duration", "progress_interval", "recording_start_timeout", "stop_timeout", "direct_bitrate", "direct_preset"]

    public init(_ c: JSONObject) throws(PluginConfigError) {
        try c.rejectUnknownKeys(allowed: CaptureSettings.keys)
        ffmpeg = try c.configString("ffmpeg", default: ffmpeg)
        streamSnapshotTimeout = try c.configSeconds("stream_snapshot_timeout", default: streamSnapshotTimeout, range: 0.2...120)
        startedSnapshotTimeout = try c.configSeconds("started_snapshot_timeout", default: startedSnapshotTimeout, range: 0.5...300)
        directSnapshotTimeout = try c.configSeconds("direct_snapshot_timeout", default: directSnapshotTimeout, range: 0.2...120)
        jpegQuality = try c.configInt("jpeg_quality", default: jpegQuality, range: 1...100)
        maxConcurrentSnapshots = try c.configInt("max_concurrent_snapshots", default: maxConcurrentSnapshots, range: 1...64)
        directSkipFrames = try c.configInt("direct_skip_frames", default: directSkipFrames, range: 0...300)
        cacheEnabled = try c.configBool("snapshot_cache", default: cacheEnabled)
        cacheFPS = try c.configDouble("cache_fps", default: cacheFPS, range: 0.1...30)
        cacheIdle = try c.configSeconds("cache_idle", default: cacheIdle, range: 1...3600)
        let format = try c.configChoice("default_format", default: defaultFormat.rawValue, from: ["fmp4", "mp4", "mkv"])
        defaultFormat = RecordingFormat(rawValue: format) ?? .fmp4
        segmentDuration = try c.configSeconds("segment_duration", default: segmentDuration, range: 2...86400)
        progressInterval = try c.configSeconds("progress_interval", default: progressInterval, range: 0.2...3600)
        recordingStartTimeout = try c.configSeconds("recording_start_timeout", default: recordingStartTimeout, range: 0.5...300)
        stopTimeout = try c.configSeconds("stop_timeout", default: stopTimeout, range: 0.5...300)
        directBitrate = try c.configInt("direct_bitrate", default: directBitrate, range: 64_000...50_000_000)
        directPreset = try c.configChoice("direct_preset", default: directPreset, from: ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium"])
    }

    /// FFmpeg's MJPEG `-q:v` (2 best … 31 worst) for a quality 1–100.
    public static func qscale(_ quality: Int) -> Int {
        let q = min(100, max(1, quality))
        return 31 - Int((Double(q - 1) * 29 / 99).rounded())
    }
}
