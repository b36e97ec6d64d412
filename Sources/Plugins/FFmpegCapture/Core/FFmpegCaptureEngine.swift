import Codecs
import Glibc
import PluginAPI
import Synchronization

/// The ``CaptureEngine`` over FFmpeg: tiered snapshots with a frame cache, and segmented
/// recordings from the published stream (copied) or from the camera directly (encoded).
public final class FFmpegCaptureEngine: CaptureEngine {
    let settings: CaptureSettings
    let processes: ProcessLauncher
    let logger: Logger
    let snapshots: SnapshotTaker
    private struct State {
        var sink: (any CaptureEventSink)?
        var recordings: [String: Recording] = [:]
        /// Cameras whose recording is being started (a second start is refused meanwhile).
        var starting: Set<String> = []
        var reaper: Task<Void, Never>?
    }
    private let state = Mutex(State())

    public let snapshotFormats: [SnapshotFormat] = [.jpg, .png]
    public let recordingFormats: [RecordingFormat] = [.fmp4, .mp4, .mkv]

    public init(settings: CaptureSettings, processes: ProcessLauncher, logger: Logger) {
        self.settings = settings
        self.processes = processes
        self.logger = logger
        snapshots = SnapshotTaker(settings: settings, processes: processes, logger: logger)
    }

    public func start(_ sink: any CaptureEventSink) async throws {
        let snapshots = self.snapshots
        let reaper = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(2))
                await snapshots.reapCaches()
            }
        }
        state.withLock {
            $0.sink = sink
            $0.reaper = reaper
        }
    }

    public func takeSnapshot(_ request: SnapshotRequest) async throws -> SnapshotResult {
        try await snapshots.take(request)
    }

    public func startRecording(_ request: RecordingRequest) async throws -> RecordingState {
        let device = request.device
        let sink: (any CaptureEventSink)? = try state.withLock { (s: inout State) throws(RPCError) in
            if let r = s.recordings[device], r.isActive { throw RPCError.invalidState("RECORDING", detail: "\(device) is already recording \(r.snapshot.filename)") }
            guard s.starting.insert(device).inserted else { throw RPCError.invalidState("RECORDING", detail: "\(device) is starting a recording") }
            return s.sink
        }
        defer { _ = state.withLock { $0.starting.remove(device) } }
        guard let sink else { throw RPCError.internalError("the capture engine was not started") }
        let source = RecordingSource.choose(stream: request.stream?.readiness(), input: request.input)
        var lease: (any StreamLease)?
        switch source {
        case .impossible(let why):
            throw RPCError.dependencyFailed("capture", detail: "\(device): \(why)")
        case .stream:
            guard let stream = request.stream else { throw RPCError.dependencyFailed("capture", detail: "no stream") }
            lease = try await stream.acquire(for: .recording, timeout: settings.recordingStartTimeout)
        case .direct:
            break
        }
        await waitForAFreshName(device, request.directory, format: request.format ?? settings.defaultFormat)
        let recording = Recording(device: device, format: request.format ?? settings.defaultFormat, directory: request.directory,
                                  durationLimit: request.durationSeconds, source: source, stream: request.stream, settings: settings,
                                  processes: processes, sink: sink, logger: logger)
        try await recording.start(inputArguments: request.stream?.readURL, input: request.input, lease: lease)
        state.withLock { $0.recordings[device] = recording }
        let s = recording.snapshot
        logger.info("\(device): recording \(s.filename) (\(s.format.rawValue), from \(source == .stream ? "the stream, copied" : "the camera, encoded"))",
                    [("device", device)])
        return s
    }

    /// Segment names carry the second they start: two recordings started in the same second
    /// must not share a name, so the second one waits for the next second.
    private func waitForAFreshName(_ device: String, _ directory: String, format: RecordingFormat) async {
        for _ in 0..<3 {
            let stamp = Timestamp.rfc3339(Timestamp.now())
            let name = "\(device)_\(stamp.prefix(10))_\(stamp.dropFirst(11).prefix(8).map { $0 == ":" ? "-" : String($0) }.joined()).\(format.fileExtension)"
            guard access(directory + "/" + name, F_OK) == 0 else { return }
            try? await Task.sleep(for: .milliseconds(1000 - Int(Timestamp.now().truncatingRemainder(dividingBy: 1) * 1000) + 20))
        }
    }

    public func stopRecording(device: String, cause: RecordingStopCause) async throws -> RecordingState {
        guard let recording = state.withLock({ $0.recordings[device] }), recording.isActive else {
            throw RPCError.invalidState("IDLE", detail: "\(device) is not recording")
        }
        return await recording.stop(cause)
    }

    public func activeRecordings() async -> [RecordingState] {
        state.withLock { $0.recordings.values.filter(\.isActive) }.map(\.snapshot)
    }

    public func cameraUnavailable(_ device: String) async {
        let recording = state.withLock { $0.recordings[device] }
        if let recording, recording.isActive {
            recording.cameraGone()
            _ = await recording.stop(.cameraDisconnected)
        }
        await snapshots.dropCache(device)
    }

    public func stop() async {
        let (active, reaper) = state.withLock { s in (s.recordings.values.filter(\.isActive), s.reaper) }
        reaper?.cancel()
        await withTaskGroup(of: Void.self) { group in
            for r in active { group.addTask { _ = await r.stop(.shutdown) } }
        }
        await snapshots.reapCaches(everything: true)
    }
}
