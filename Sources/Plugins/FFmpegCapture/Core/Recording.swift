import Codecs
import Glibc
import PluginAPI
import Synchronization

/// One recording: the FFmpeg writing its segments, the files, and how it ended. It reports
/// every step to the host's sink (started, segment started/completed, progress, ended).
final class Recording: Sendable {
    let device: String
    let format: RecordingFormat
    let directory: String
    let durationLimit: Int?
    /// When `start_recording` asked; the recording's start is when its first file opened.
    let requestedAt: Double
    let source: RecordingSource
    let stream: (any StreamSource)?
    let settings: CaptureSettings
    let processes: ProcessLauncher
    let sink: any CaptureEventSink
    let logger: Logger

    private struct State {
        var child: ChildProcess?
        var lease: (any StreamLease)?
        var files: [String] = []
        /// When FFmpeg opened the first file (its name carries this second): the start time.
        var startedAt: Double?
        /// Files FFmpeg closed (their list line came): finished by ``completed(_:)``, once.
        var closed: Set<String> = []
        var finishing = 0
        var stopCause: RecordingStopCause?
        var cameraGone = false
        var firstSegment: CheckedContinuation<Bool, Never>?
        var ended: RecordingState?
        /// The end was reported to the host's sink: only then do waiters for the end return.
        var endReported = false
        var endWaiters: [CheckedContinuation<RecordingState, Never>] = []
        var progress: Task<Void, Never>?
    }
    private let state = Mutex(State())

    init(device: String, format: RecordingFormat, directory: String, durationLimit: Int?, source: RecordingSource, stream: (any StreamSource)?,
         settings: CaptureSettings, processes: ProcessLauncher, sink: any CaptureEventSink, logger: Logger) {
        self.device = device
        self.format = format
        self.directory = directory
        self.durationLimit = durationLimit
        self.source = source
        self.stream = stream
        self.settings = settings
        self.processes = processes
        self.sink = sink
        self.logger = logger
        requestedAt = Timestamp.now()
    }

    /// The recording as the contract describes it now.
    var snapshot: RecordingState {
        state.withLock { s in
            if let e = s.ended { return e }
            return make(s, status: .recording, cause: nil, detail: "", end: nil)
        }
    }

    var isActive: Bool { state.withLock { $0.ended == nil } }

    private func make(_ s: State, status: RecordingStatus, cause: RecordingStopCause?, detail: String, end: Double?) -> RecordingState {
        RecordingState(device: device, status: status, format: format, directory: directory, filename: s.files.first ?? "",
                       currentFile: s.files.last ?? "", files: s.files, startTime: s.startedAt ?? requestedAt, endTime: end, durationLimit: durationLimit,
                       bytesWritten: s.files.reduce(0) { $0 + fileSize($1) }, cause: cause, detail: detail)
    }

    func path(_ file: String) -> String { directory + "/" + file }

    func fileSize(_ file: String) -> Int {
        var st = stat()
        return stat(path(file), &st) == 0 ? Int(st.st_size) : 0
    }

    /// Starts FFmpeg and waits until the first segment file is open. Throws `-32050` when it
    /// cannot read the camera (its last words in the detail).
    func start(inputArguments url: String?, input: CaptureInput?, lease: (any StreamLease)?) async throws {
        state.withLock { $0.lease = lease }
        var spec = ProcessSpec(executable: settings.ffmpeg,
                               arguments: FFmpegCommands.record(source: source, url: url, input: input, format: format, directory: directory, device: device,
                                                                segmentSeconds: settings.segmentDuration, duration: durationLimit, settings: settings),
                               label: "recording \(device)")
        spec.environment = ["TZ": "UTC"]  // segment names in UTC, as snapshot names
        spec.stdout = .log(.debug)
        spec.stderrLevel = .debug
        spec.stopTimeout = settings.stopTimeout
        spec.terminateTimeout = 3
        spec.onLine = { [self] stream, line in
            if stream == .stderr, let name = SegmentLog.opened(line, directory: directory) { self.opened(name) }
            if stream == .stdout, let seg = SegmentLog.completed(line) { self.completed(seg.name) }
        }
        let child: ChildProcess
        do { child = try await processes.spawn(spec) } catch {
            lease?.release()
            throw RPCError.dependencyFailed("ffmpeg", detail: "\(error)")
        }
        state.withLock { $0.child = child }
        let opened: Bool = await withCheckedContinuation { c in
            let already = state.withLock { s -> Bool in
                if !s.files.isEmpty { return true }
                s.firstSegment = c
                return false
            }
            if already { c.resume(returning: true); return }
            child.onExit { [self] _ in self.resolveFirst(false) }
            Task { [self] in
                try? await Task.sleep(for: .milliseconds(Int(settings.recordingStartTimeout * 1000)))
                self.resolveFirst(false)
            }
        }
        guard opened else {
            var exit = child.exit
            if exit == nil { exit = await child.stop() }
            let why = exit.map(\.description) ?? "no answer"
            lease?.release()
            state.withLock { s in
                s.ended = make(s, status: .error, cause: .processFailed, detail: why, end: Timestamp.now())
                s.endReported = true  // it never started: the caller gets the error, no event
            }
            throw RPCError.dependencyFailed(source == .stream ? "mediamtx" : "ffmpeg",
                                            detail: "\(device): recording did not start within \(shortSeconds(settings.recordingStartTimeout)) s: \(why)")
        }
        child.onExit { [self] exit in Task { await self.exited(exit) } }
        let every = settings.progressInterval
        let task = Task { [self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(Int(every * 1000)))
                guard !Task.isCancelled, isActive else { return }
                sink.recordingChanged(RecordingEvent(kind: .progress, recording: snapshot))
            }
        }
        state.withLock { $0.progress = task }
    }

    private func resolveFirst(_ value: Bool) {
        state.withLock { s in
            defer { s.firstSegment = nil }
            return s.firstSegment
        }?.resume(returning: value)
    }

    /// FFmpeg opened a segment file.
    private func opened(_ name: String) {
        let first = state.withLock { s -> Bool in
            guard !s.files.contains(name) else { return false }
            s.files.append(name)
            if s.files.count == 1 { s.startedAt = Timestamp.now() }
            return s.files.count == 1
        }
        if first { resolveFirst(true) }
        sink.recordingChanged(RecordingEvent(kind: first ? .started : .segmentStarted, recording: snapshot, file: name))
    }

    /// FFmpeg closed a segment file (its list line): make it final, then report it.
    private func completed(_ name: String) {
        // Claimed now, not when the rewrite is done: the end of the recording must not start a
        // second rewrite of the same file beside this one (both would write its hidden copy).
        let claimed = state.withLock { s -> Bool in
            guard s.closed.insert(name).inserted else { return false }
            s.finishing += 1
            return true
        }
        guard claimed else { return }
        Task { [self] in
            if format == .mp4 { await rewrite(name, FFmpegCommands.progressiveMP4) }
            state.withLock { $0.finishing -= 1 }
            sink.recordingChanged(RecordingEvent(kind: .segmentCompleted, recording: snapshot, file: name))
        }
    }

    /// Rewrites a segment through a hidden file renamed over it (never half a file in place).
    private func rewrite(_ name: String, _ command: (String, String) -> [String]) async {
        let tmp = path("." + name + ".fix")
        var spec = ProcessSpec(executable: settings.ffmpeg, arguments: command(path(name), tmp), label: "finish \(name)")
        spec.timeLimit = 120
        if let child = try? await processes.spawn(spec), await child.wait().succeeded, rename(tmp, path(name)) == 0 { return }
        unlink(tmp)
        logger.warning("\(device): could not finish \(name); it stays as written")
    }

    /// Ends the recording for `cause` (SIGINT: FFmpeg closes its files) and waits until every
    /// file is complete.
    func stop(_ cause: RecordingStopCause) async -> RecordingState {
        let child = state.withLock { s -> ChildProcess? in
            if s.stopCause == nil && s.ended == nil { s.stopCause = cause }
            return s.child
        }
        if let child { _ = await child.stop() }
        return await ended()
    }

    /// The camera went away.
    func cameraGone() { state.withLock { $0.cameraGone = true } }

    /// Waits for the end.
    func ended() async -> RecordingState {
        await withCheckedContinuation { c in
            let done: RecordingState? = state.withLock { s in
                if let e = s.ended, s.endReported { return e }
                s.endWaiters.append(c)
                return nil
            }
            if let done { c.resume(returning: done) }
        }
    }

    private func exited(_ exit: ProcessExit) async {
        var (requested, gone, started) = state.withLock { ($0.stopCause, $0.cameraGone, $0.startedAt ?? requestedAt) }
        let elapsed = Timestamp.now() - started
        let cause: RecordingStopCause
        if let requested {
            cause = requested
        } else if exit.succeeded, let limit = durationLimit, elapsed >= Double(limit) - 1 {
            cause = .durationReached
        } else {
            if !gone && source == .stream {
                // The stream ends the moment a camera is unplugged; the host's word may follow.
                try? await Task.sleep(for: .milliseconds(500))
                gone = state.withLock { $0.cameraGone }
            }
            if gone {
                cause = .cameraDisconnected
            } else if case .signaled = exit.termination {
                cause = .processFailed  // FFmpeg itself was killed or crashed
            } else if source == .stream {
                cause = .mediaBackendFailed  // it ended by itself: its input, the stream, ended or broke
            } else {
                cause = .processFailed
            }
        }
        // Files FFmpeg could not close: a killed Matroska writer leaves no index (rewritten now);
        // fragmented MP4 is playable as it is.
        let (unfinished, killed) = state.withLock { s in
            let open = s.files.filter { !s.closed.contains($0) }
            s.closed.formUnion(open)  // claimed here: a list line read after the exit leaves them alone
            return (open, !exit.succeeded && !exit.stopRequested)
        }
        for name in unfinished {
            if killed && format == .mkv { await rewrite(name, FFmpegCommands.repairMatroska) }
            if !killed && format == .mp4 { await rewrite(name, FFmpegCommands.progressiveMP4) }
        }
        while state.withLock({ $0.finishing > 0 }) { try? await Task.sleep(for: .milliseconds(20)) }
        let detail = cause.isClean ? "" : (cause == .cameraDisconnected ? "the camera was unplugged" : exit.description)
        let (final, lease, progress) = state.withLock { s -> (RecordingState, (any StreamLease)?, Task<Void, Never>?) in
            let e = make(s, status: cause.isClean ? .stopped : .error, cause: cause, detail: detail, end: Timestamp.now())
            s.ended = e  // no longer active: no progress after this, a new recording may start
            defer { s.lease = nil }
            return (e, s.lease, s.progress)
        }
        progress?.cancel()
        lease?.release()
        // Reported before the waiters return: whoever waited for the end (the daemon shutting
        // down) acts only after the notification is on its way to the clients.
        sink.recordingChanged(RecordingEvent(kind: .ended, recording: final))
        let waiters = state.withLock { s -> [CheckedContinuation<RecordingState, Never>] in
            s.endReported = true
            defer { s.endWaiters = [] }
            return s.endWaiters
        }
        for w in waiters { w.resume(returning: final) }
    }
}
