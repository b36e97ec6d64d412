import PluginAPI
import Synchronization

/// The host's glue between capabilities: camera changes go to the media backend (publish,
/// unpublish) and the capture engine (a camera gone ends its recording); what the media
/// backend, capture engine and storage provider report comes back here and becomes the
/// contract's events, the legacy `recording_status_update`, and the storage provider's
/// knowledge of which files are being written.
final class MediaCoordinator: MediaEventSink, CaptureEventSink, StorageEventSink {
    let capabilities: @Sendable () -> Capabilities
    let cameras: CameraDirectory
    let events: EventBus
    let logger: Logger
    private let changes: AsyncStream<(CameraInfo, CameraChange)>.Continuation
    /// Files being written / complete, told to the storage provider in the order they happened.
    private let fileNews: AsyncStream<(path: String, complete: Bool)>.Continuation
    private let consumers: [Task<Void, Never>]
    /// The recording in progress per camera, as the capture engine last reported it: readable
    /// without waiting on the engine (camera listings are answered on the network thread).
    private let recording = Mutex<[String: RecordingState]>([:])

    init(capabilities: @escaping @Sendable () -> Capabilities, cameras: CameraDirectory, events: EventBus, logger: Logger) {
        self.capabilities = capabilities
        self.cameras = cameras
        self.events = events
        self.logger = logger
        let (stream, continuation) = AsyncStream.makeStream(of: (CameraInfo, CameraChange).self)
        changes = continuation
        let (files, fileContinuation) = AsyncStream.makeStream(of: (path: String, complete: Bool).self)
        fileNews = fileContinuation
        // One consumer each, so changes arrive in the order they happened.
        consumers = [
            Task { [capabilities, cameras, logger] in
                for await (camera, change) in stream { await MediaCoordinator.forward(camera, change, capabilities(), cameras, logger) }
            },
            Task { [capabilities] in
                for await news in files {
                    guard let storage = capabilities().storageProvider?.provider else { continue }
                    if news.complete { await storage.fileFinished(.recordings, path: news.path) } else { await storage.fileStarted(.recordings, path: news.path) }
                }
            },
        ]
    }

    deinit { for c in consumers { c.cancel() } }

    /// From the camera directory (never blocks: camera sources call it under their locks).
    func cameraChanged(_ camera: CameraInfo, _ change: CameraChange) { changes.yield((camera, change)) }

    static func forward(_ camera: CameraInfo, _ change: CameraChange, _ caps: Capabilities, _ cameras: CameraDirectory, _ logger: Logger) async {
        guard change != .capabilitiesDetected else { return }
        if camera.status == .connected {
            guard let backend = caps.mediaBackend?.backend, let source = cameras.source(of: camera.device) else { return }
            do {
                await backend.publish(camera, input: try await source.captureInput(for: camera.device))
            } catch {
                logger.warning("\(camera.device): no capture input to publish: \(error)")
            }
        } else {
            await caps.mediaBackend?.backend.unpublish(device: camera.device)
            await caps.captureEngine?.engine.cameraUnavailable(camera.device)
        }
    }

    // MARK: MediaEventSink

    func streamChanged(_ state: StreamState, change: StreamChange) {
        var params: JSONObject = ["device": .string(state.device), "stream_name": .string(state.name), "status": .string(state.status.rawValue),
                                  "ready": .bool(state.ready), "viewers": .int(state.viewers)]
        if !state.detail.isEmpty { params["reason"] = .string(state.detail) }
        if change == .failed { params["error"] = true }
        events.publish(Event(topic: change == .started ? EventTopic.streamStarted : EventTopic.streamStopped, params: params))
    }

    // MARK: CaptureEventSink

    /// The camera's recording in progress, nil when none.
    func activeRecording(of device: String) -> RecordingState? { recording.withLock { $0[device] } }

    func recordingChanged(_ event: RecordingEvent) {
        let r = event.recording
        recording.withLock { table in
            switch event.kind {
            case .started: table[r.device] = r
            // Only this recording's entry: a new one of the camera may have started already.
            case .ended: if table[r.device]?.filename == r.filename { table[r.device] = nil }
            // A late report (a progress tick that raced the end) never brings an ended one back.
            default: if table[r.device]?.filename == r.filename { table[r.device] = r }
            }
        }
        switch event.kind {
        case .started:
            if let file = event.file { fileNews.yield((r.path(of: file), false)) }
            events.publish(Event(topic: EventTopic.recordingStart, params: [
                "device": .string(r.device), "filename": .string(r.filename), "format": .string(r.format.rawValue),
                "start_time": .string(HostClock.rfc3339(r.startTime)), "duration": r.durationLimit.map(JSONValue.int) ?? .null]))
            events.broadcastLegacy(method: "recording_status_update", params: [
                "device": .string(r.device), "status": "STARTED", "filename": .string(r.filename), "duration": r.durationLimit.map(JSONValue.int) ?? .null])
        case .segmentStarted:
            if let file = event.file { fileNews.yield((r.path(of: file), false)) }
        case .segmentCompleted:
            if let file = event.file { fileNews.yield((r.path(of: file), true)) }
        case .progress:
            events.publish(Event(topic: EventTopic.recordingProgress, params: [
                "device": .string(r.device), "filename": .string(r.filename), "current_file": .string(r.currentFile),
                "seconds": .double((r.elapsed(now: HostClock.now()) * 10).rounded() / 10), "bytes": .int(r.bytesWritten)]))
        case .ended:
            let files = r.files
            for f in files { fileNews.yield((r.path(of: f), true)) }
            let duration = (r.elapsed(now: HostClock.now()) * 10).rounded() / 10
            var params: JSONObject = [
                "device": .string(r.device), "filename": .string(r.filename), "status": .string(r.status.rawValue),
                "cause": .string(r.cause?.rawValue ?? "unknown"), "duration": .double(duration), "file_size": .int(r.bytesWritten),
                "files": .array(files.map(JSONValue.string))]
            if !r.detail.isEmpty { params["detail"] = .string(r.detail) }
            events.publish(Event(topic: EventTopic.recordingStop, params: params))
            if r.status == .error { events.publish(Event(topic: EventTopic.recordingError, params: params)) }
            var legacy: JSONObject = ["device": .string(r.device), "status": .string(r.status == .error ? "ERROR" : "STOPPED"),
                                      "filename": .string(r.filename), "duration": .double(duration), "cause": .string(r.cause?.rawValue ?? "unknown")]
            if !r.detail.isEmpty { legacy["detail"] = .string(r.detail) }
            events.broadcastLegacy(method: "recording_status_update", params: legacy)
            logger.info("\(r.device): recording \(r.filename) ended (\(r.cause?.rawValue ?? "unknown"))\(r.detail.isEmpty ? "" : ": \(r.detail)")",
                        [("device", r.device), ("cause", r.cause?.rawValue ?? "unknown")])
        default:
            break
        }
    }

    // MARK: StorageEventSink

    func storageLevelChanged(_ info: StorageInfo, from previous: StorageLevel) {
        events.publish(Event(topic: EventTopic.storageWarning, params: StorageJSON.warning(info, previous: previous)))
        guard info.level == .critical, let engine = capabilities().captureEngine?.engine else { return }
        logger.warning("storage at \(info.usagePercent)% (block threshold \(info.blockPercent)%): ending every recording")
        Task {
            for r in await engine.activeRecordings() {
                _ = try? await engine.stopRecording(device: r.device, cause: .storageFull)
            }
        }
    }
}
