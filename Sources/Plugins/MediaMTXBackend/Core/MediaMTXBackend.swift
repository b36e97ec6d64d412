import Codecs
import Glibc
import PluginAPI
import Synchronization

/// The ``MediaBackend`` over MediaMTX. One path per camera, named by its device id, whose
/// on-demand publisher is the camera's only reader; health checks behind a circuit breaker;
/// paths re-applied when MediaMTX restarts or loses them. Nothing here waits on MediaMTX
/// while its circuit is open, and no method of the daemon but the streaming ones ever does.
public final class MediaMTXBackend: MediaBackend {
    let settings: MediaMTXSettings
    let api: MediaMTXAPI
    let logger: Logger
    let health: any HealthReporter
    let processes: ProcessLauncher
    /// Announces `paths_restored` (the plugin's own topic), nil in tests.
    let announce: (@Sendable (String, JSONObject) -> Void)?
    /// The component name in health reports.
    public static let component = "mediamtx"

    struct Camera {
        var info: CameraInfo
        var input: CaptureInput
        var body: JSONObject
        /// MediaMTX has our configuration for it.
        var applied = false
        /// A path of that name exists that we did not create: left alone.
        var foreign = false
    }
    /// What keeps one stream published: leases, a linger deadline, and the keeper reader.
    struct Hold {
        var leases: [UInt64: StreamPurpose] = [:]
        var lingerUntil = 0.0
        var keeper: ChildProcess?
        var keeperStarting = false
        var keeperFailures = 0
        var nextKeeperStart = 0.0
        /// The last reason publishing failed (the keeper's or MediaMTX's words).
        var lastProblem = ""
        /// Figures asked before this say nothing about viewers: `stop_streaming` ended the stream
        /// (and recreated its path, which disconnected everyone).
        var viewersCountFrom = 0.0
        /// Keepers being stopped: still readers of MediaMTX for a moment, but ours.
        var retiring = 0
        /// When readers of ours (the keeper, a lease's reader) left: MediaMTX may list each a
        /// moment longer (`readerSettle`), so figures asked around then still count it as ours.
        var departures: [Double] = []
        /// How long MediaMTX may still list a reader of ours that has gone.
        static let readerSettle = 1.0

        /// Readers of MediaMTX's that are ours for figures asked at `asked`: the keeper (also
        /// while it stops), leases, and the readers that left shortly before (or after) then.
        func ownReaders(asked: Double) -> Int {
            (keeper != nil ? 1 : 0) + retiring + leases.count + departures.filter { asked - $0 < Hold.readerSettle }.count
        }

        mutating func ownReaderLeft(now: Double) {
            departures = departures.filter { now - $0 < Hold.readerSettle } + [now]
        }

        /// MediaMTX counted `readers` when asked at `asked`: readers beyond our own are viewers,
        /// and the stream lingers `linger` seconds after them.
        mutating func noteReaders(_ readers: Int, asked: Double, now: Double, linger: Double) {
            guard readers > ownReaders(asked: asked), asked > viewersCountFrom else { return }
            lingerUntil = max(lingerUntil, now + linger)
        }
    }
    struct State {
        var cameras: [String: Camera] = [:]
        var runtime: [String: RuntimePath] = [:]
        var breaker: CircuitBreaker
        var started: String?
        var version = ""
        var holds: [String: Hold] = [:]
        var ready: Set<String> = []
        var sink: (any MediaEventSink)?
        var nextLease: UInt64 = 1
        var stopped = false
        /// Paths being configured now (a camera change and a health check must not both add one).
        var applying: Set<String> = []
    }
    let state: Mutex<State>
    private let loop = Mutex<Task<Void, Never>?>(nil)

    public init(settings: MediaMTXSettings, logger: Logger, health: any HealthReporter, processes: ProcessLauncher,
                announce: (@Sendable (String, JSONObject) -> Void)? = nil) throws(PluginConfigError) {
        self.settings = settings
        api = try MediaMTXAPI(settings: settings)
        self.logger = logger
        self.health = health
        self.processes = processes
        self.announce = announce
        state = Mutex(State(breaker: CircuitBreaker(settings: settings.breaker)))
    }

    // MARK: MediaBackend

    public func start(_ sink: any MediaEventSink) async throws {
        state.withLock { $0.sink = sink }
        reportHealth()
        let task = Task { [self] in await self.run() }
        loop.withLock { $0 = task }
    }

    public func stop() async {
        let (task, keepers, ours) = state.withLock { s -> (Task<Void, Never>?, [ChildProcess], [String]) in
            s.stopped = true
            let keepers = s.holds.values.compactMap(\.keeper)
            s.holds = [:]
            let ours = s.breaker.stateName == "closed" ? s.cameras.filter { $0.value.applied && !$0.value.foreign }.map(\.key) : []
            return (loop.withLock { $0 }, keepers, ours)
        }
        task?.cancel()
        for k in keepers { _ = await k.stop() }
        // A path left behind would let any reader start the camera with the daemon gone.
        for name in ours { try? await api.deletePath(name) }
    }

    public func publish(_ camera: CameraInfo, input: CaptureInput) async {
        let body = PathConfig.body(device: camera.device, input: input, settings: settings)
        let changed = state.withLock { s -> Bool in
            let old = s.cameras[camera.device]
            let same = old?.body == body
            s.cameras[camera.device] = Camera(info: camera, input: input, body: body, applied: same && (old?.applied ?? false), foreign: old?.foreign ?? false)
            return !same
        }
        if changed && breakerAllows() { await apply(camera.device, existing: nil) }
    }

    public func unpublish(device: String) async {
        let (camera, keeper) = state.withLock { s -> (Camera?, ChildProcess?) in
            let c = s.cameras.removeValue(forKey: device)
            let k = s.holds.removeValue(forKey: device)?.keeper
            s.ready.remove(device)
            return (c, k)
        }
        _ = await keeper?.stop()
        guard let camera, camera.applied, !camera.foreign, breakerAllows() else { return }
        do {
            try await api.deletePath(device)
            logger.info("\(device): MediaMTX path deleted (camera gone)")
            succeeded()
        } catch {
            if error.status != 404 { failed(error) }
        }
    }

    public func streamURLs(for device: String, clientHost: String?) -> StreamURLs {
        let host = settings.publicHost ?? clientHost ?? MediaMTXBackend.machineName
        let h = host.contains(":") ? "[\(host)]" : host
        return StreamURLs(rtsp: "rtsp://\(h):\(settings.rtspPort)/\(device)", webrtc: "http://\(h):\(settings.webrtcPort)/\(device)",
                          hls: "http://\(h):\(settings.hlsPort)/\(device)/index.m3u8")
    }

    public func startStream(device: String) async throws -> StreamState {
        let lease = try await acquire(device, .viewing, timeout: settings.startTimeout)
        lease.release()  // the viewer linger keeps it for settings.viewerIdle
        return try await streamState(device: device)
    }

    public func stopStream(device: String) async throws -> StreamStopOutcome {
        guard state.withLock({ $0.cameras[device] != nil }) else { throw RPCError.notFound(resource: "stream", id: device) }
        // Before the hold changes: refused here, the keeper must stay held (and counted) as it was.
        try requireBreaker()
        let (camera, recording, keeper) = state.withLock { s -> (Camera?, Bool, ChildProcess?) in
            guard let c = s.cameras[device] else { return (nil, false, nil) }
            if s.holds[device]?.leases.values.contains(.recording) == true { return (c, true, nil) }
            var h = s.holds[device] ?? Hold()
            h.lingerUntil = 0
            h.viewersCountFrom = max(h.viewersCountFrom, Timestamp.monotonic())
            let k = h.keeper
            h.keeper = nil
            if k != nil { h.retiring += 1 }
            s.holds[device] = h
            return (c, false, k)
        }
        guard let camera else { throw RPCError.notFound(resource: "stream", id: device) }
        if recording {
            return StreamStopOutcome(state: try await streamState(device: device), stillPublishing: true,
                                     message: "still published: a recording reads it; stop the recording first")
        }
        if let keeper {
            _ = await keeper.stop()
            keeperStopped(device)
        }
        // MediaMTX cannot be told to stop an on-demand publisher; recreating the path ends it
        // (its readers are disconnected, the command gets SIGINT), and the next reader starts it again.
        if camera.applied && !camera.foreign {
            do {
                try await api.deletePath(device)
                try await api.addPath(device, camera.body)
                succeeded()
                // Everyone was disconnected: figures asked before now are about readers gone.
                state.withLock { $0.holds[device]?.viewersCountFrom = Timestamp.monotonic() }
            } catch {
                failed(error)
                throw dependency(error)
            }
        }
        return StreamStopOutcome(state: try await streamState(device: device), stillPublishing: false, message: "publishing stopped")
    }

    public func streamState(device: String) async throws -> StreamState {
        guard state.withLock({ $0.cameras[device] != nil }) else { throw RPCError.notFound(resource: "stream", id: device) }
        try requireBreaker()
        let runtime: RuntimePath?
        let asked = Timestamp.monotonic()
        do {
            runtime = try await api.path(device)
            succeeded()
        } catch {
            failed(error)
            throw dependency(error)
        }
        observe([device: runtime].compactMapValues { $0 }, complete: false, names: [device], since: asked)
        return streamState(device, runtime)
    }

    public func streams() async throws -> [StreamState] {
        try requireBreaker()
        let all: [String: RuntimePath]
        let asked = Timestamp.monotonic()
        do {
            all = try await api.paths()
            succeeded()
        } catch {
            failed(error)
            throw dependency(error)
        }
        observe(all, complete: true, names: nil, since: asked)
        let names = state.withLock { Array($0.cameras.keys) }.sorted()
        return names.map { streamState($0, all[$0]) }
    }

    public func streamSource(for device: String) -> (any StreamSource)? {
        guard state.withLock({ $0.cameras[device] != nil }) else { return nil }
        return BackendStream(backend: self, device: device, readURL: "rtsp://\(settings.readHost):\(settings.rtspPort)/\(device)")
    }

    // MARK: state of one stream

    func streamState(_ device: String, _ r: RuntimePath?) -> StreamState {
        let (hold, camera) = state.withLock { ($0.holds[device], $0.cameras[device]) }
        let ours = r?.ready == true ? (hold?.ownReaders(asked: Timestamp.monotonic()) ?? 0) : (hold?.leases.count ?? 0)
        let status: StreamStatus
        if r?.ready == true {
            status = .active
        } else if hold?.keeper != nil || hold?.keeperStarting == true || r?.sourceType != nil {
            status = .starting
        } else if !(hold?.lastProblem.isEmpty ?? true) {
            status = .error
        } else {
            status = .inactive
        }
        let held = hold?.leases.values.contains(.recording) == true
        return StreamState(name: device, device: device, status: status, ready: r?.ready ?? false, viewers: max(0, (r?.readers ?? 0) - ours),
                           bytesSent: r?.bytesSent ?? 0, startTime: r?.ready == true ? r?.readyTime : nil,
                           lastActivity: r?.ready == true ? Timestamp.now() : nil, source: r?.sourceType ?? "",
                           detail: status == .error ? (hold?.lastProblem ?? "") : (camera?.foreign == true ? "path configured outside camera-service" : ""),
                           closesAfter: held ? nil : settings.viewerIdle)
    }

    func readiness(_ device: String) -> StreamReadiness {
        state.withLock { s in
            let available = s.breaker.stateName != "open"
            let h = s.holds[device]
            let ready = s.runtime[device]?.ready ?? false
            return StreamReadiness(backendAvailable: available, ready: ready && available,
                                   publisherActive: ready || s.runtime[device]?.sourceType != nil || h?.keeper != nil || h?.keeperStarting == true)
        }
    }

    // MARK: leases and the keeper

    /// Publishes `device` (the keeper reads it, which makes MediaMTX start the publisher) and
    /// waits until MediaMTX reports it ready.
    func acquire(_ device: String, _ purpose: StreamPurpose, timeout: Double) async throws -> any StreamLease {
        guard state.withLock({ $0.cameras[device] != nil }) else { throw RPCError.notFound(resource: "stream", id: device) }
        try requireBreaker()
        let id = state.withLock { s -> UInt64 in
            let id = s.nextLease
            s.nextLease += 1
            s.holds[device, default: Hold()].leases[id] = purpose
            s.holds[device]?.lastProblem = ""
            return id
        }
        let lease = Lease(backend: self, device: device, id: id)
        await reviewKeeper(device, now: Timestamp.monotonic())
        let deadline = Timestamp.monotonic() + timeout
        while true {
            if let r = state.withLock({ $0.runtime[device] }), r.ready { return lease }
            do {
                let asked = Timestamp.monotonic()
                if let r = try await api.path(device) {
                    succeeded()
                    observe([device: r], complete: false, names: [device], since: asked)
                    if r.ready { return lease }
                }
            } catch {
                failed(error)
                // One slow or refused answer is not an outage: the circuit breaker decides
                // when MediaMTX is down, and the deadline bounds the wait.
                if error.isUnreachable, state.withLock({ $0.breaker.stateName == "open" }) {
                    lease.release()
                    throw dependency(error)
                }
            }
            if Timestamp.monotonic() >= deadline { break }
            try? await Task.sleep(for: .milliseconds(100))
        }
        lease.release()
        let problem = state.withLock { $0.holds[device]?.lastProblem ?? "" }
        let detail = "\(device) was not ready within \(PathConfig.goDuration(timeout))" + (problem.isEmpty ? "" : ": \(problem)")
        state.withLock { $0.holds[device]?.lastProblem = detail }
        let failedState = streamState(device, state.withLock { $0.runtime[device] })
        state.withLock { $0.sink }?.streamChanged(failedState, change: .failed)
        throw RPCError.dependencyFailed(MediaMTXBackend.component, detail: detail)
    }

    func release(_ device: String, _ id: UInt64) {
        state.withLock { s in
            guard let purpose = s.holds[device]?.leases.removeValue(forKey: id) else { return }
            s.holds[device]?.ownReaderLeft(now: Timestamp.monotonic())
            let linger = purpose == .viewing ? settings.viewerIdle : (purpose == .snapshot ? settings.snapshotIdle : settings.closeAfter)
            let until = max(s.holds[device]?.lingerUntil ?? 0, Timestamp.monotonic() + linger)
            s.holds[device]?.lingerUntil = until
        }
    }

    /// Starts the keeper when the stream is wanted (a lease, or within its linger) and not
    /// read by one yet; stops it when it is no longer wanted.
    func reviewKeeper(_ device: String, now: Double) async {
        enum Step { case none, start, stop(ChildProcess) }
        let step: Step = state.withLock { s in
            guard !s.stopped, s.cameras[device] != nil else { return .none }
            var h = s.holds[device] ?? Hold()
            defer { s.holds[device] = h }
            let wanted = !h.leases.isEmpty || now < h.lingerUntil
            if wanted, h.keeper == nil, !h.keeperStarting, now >= h.nextKeeperStart, s.breaker.stateName != "open" {
                h.keeperStarting = true
                return .start
            }
            if !wanted, let k = h.keeper {
                h.keeper = nil
                h.retiring += 1
                return .stop(k)
            }
            return .none
        }
        switch step {
        case .none: return
        case .stop(let k):
            logger.debug("\(device): no longer wanted; keeper reader stopped")
            _ = await k.stop()
            keeperStopped(device)
        case .start:
            var spec = ProcessSpec(executable: settings.ffmpeg, arguments: [
                "-hide_banner", "-loglevel", "error", "-nostdin", "-rtsp_transport", "tcp", "-user_agent", "\(PublishCommand.marker)-keeper",
                "-i", "rtsp://\(settings.readHost):\(settings.rtspPort)/\(device)", "-map", "0:v", "-c", "copy", "-f", "null", "-"], label: "keeper \(device)")
            spec.stderrLevel = .info
            spec.stopTimeout = 2
            do {
                let child = try await processes.spawn(spec)
                let stale = state.withLock { s -> Bool in
                    s.holds[device]?.keeperStarting = false
                    guard !s.stopped, s.cameras[device] != nil, s.holds[device] != nil else { return true }
                    s.holds[device]?.keeper = child
                    return false
                }
                if stale { _ = await child.stop(); return }
                child.onExit { [self] exit in self.keeperExited(device, child, exit) }
            } catch {
                state.withLock { s in
                    s.holds[device]?.keeperStarting = false
                    s.holds[device]?.lastProblem = "\(error)"
                    s.holds[device]?.nextKeeperStart = Timestamp.monotonic() + 5
                }
                logger.error("\(device): cannot start the keeper reader: \(error)")
            }
        }
    }

    func keeperStopped(_ device: String) {
        state.withLock { s in
            s.holds[device]?.retiring -= 1
            s.holds[device]?.ownReaderLeft(now: Timestamp.monotonic())
        }
    }

    /// The keeper ended: if the stream is still wanted it is started again (backing off), and
    /// what it said is kept as the reason publishing failed.
    func keeperExited(_ device: String, _ child: ChildProcess, _ exit: ProcessExit) {
        state.withLock { s in
            guard s.holds[device]?.keeper === child else { return }
            s.holds[device]?.keeper = nil
            s.holds[device]?.ownReaderLeft(now: Timestamp.monotonic())
            if !exit.stopRequested {
                let failures = (s.holds[device]?.keeperFailures ?? 0) + 1
                s.holds[device]?.keeperFailures = failures
                s.holds[device]?.nextKeeperStart = Timestamp.monotonic() + min(10, 0.5 * Double(failures))
                if let last = exit.lastLines.last { s.holds[device]?.lastProblem = "the stream ended: \(last)" }
            }
        }
        if !exit.stopRequested { logger.info("\(device): keeper reader \(exit)") }
    }

    // MARK: health loop

    func run() async {
        while !Task.isCancelled && !state.withLock({ $0.stopped }) {
            let now = Timestamp.monotonic()
            if breakerAllows() { await check() }
            for device in state.withLock({ Array($0.holds.keys) }) { await reviewKeeper(device, now: Timestamp.monotonic()) }
            reportHealth()
            let next = state.withLock { s -> Double in
                if let retry = s.breaker.retryAt { return max(0.05, min(settings.healthInterval, retry - Timestamp.monotonic())) }
                // While something waits for a stream to come up, look more often.
                let busy = s.holds.values.contains { $0.keeperStarting || ($0.keeper != nil && !$0.leases.isEmpty) }
                return busy ? min(0.5, settings.healthInterval) : settings.healthInterval
            }
            let elapsed = Timestamp.monotonic() - now
            try? await Task.sleep(for: .milliseconds(Int(max(0.05, next - elapsed) * 1000)))
        }
    }

    /// One health check: MediaMTX's identity (a new `started` means it restarted and lost our
    /// paths), our paths' configuration (re-added when removed behind our back), their state.
    func check() async {
        do {
            let info = try await api.info()
            let previous = state.withLock { s -> String? in
                defer {
                    s.started = info.started
                    s.version = info.version
                }
                return s.started
            }
            let configured = try await api.configuredPaths()
            let restarted = previous != nil && previous != info.started
            if previous == nil { logger.info("MediaMTX \(info.version) reachable at \(settings.apiURL)") }
            if restarted { logger.warning("MediaMTX restarted (started \(info.started)); re-applying its paths") }
            let restored = await reconcile(configured)
            if restarted || restored > 0 {
                announce?("paths_restored", ["paths": .int(restored), "reason": .string(restarted ? "mediamtx_restarted" : "paths_missing")])
            }
            let asked = Timestamp.monotonic()
            let runtime = try await api.paths()
            observe(runtime, complete: true, names: nil, since: asked)
            succeeded()
        } catch {
            failed(error)
        }
    }

    /// Makes MediaMTX's configuration match our cameras; returns how many paths were (re)added.
    func reconcile(_ configured: [String: JSONObject]) async -> Int {
        let (cameras, stale) = state.withLock { s -> ([String: Camera], [String]) in
            let stale = configured.filter { PathConfig.isOurs($0.value) && s.cameras[$0.key] == nil }.map(\.key)
            return (s.cameras, stale)
        }
        var added = 0
        for (device, camera) in cameras.sorted(by: { $0.key < $1.key }) {
            let existing = configured[device]
            if camera.applied && existing != nil && !camera.foreign { continue }
            if camera.applied && existing == nil { logger.warning("\(device): its MediaMTX path was removed; adding it again") }
            if await apply(device, existing: .some(existing)) && existing == nil { added += 1 }
        }
        for name in stale {
            logger.info("\(name): deleting a path of ours left from before (no such camera now)")
            try? await api.deletePath(name)
        }
        return added
    }

    /// Adds or replaces `device`'s path. `existing`: what MediaMTX has (.some(nil) for none),
    /// nil to look it up. Returns whether MediaMTX now has our configuration.
    @discardableResult
    func apply(_ device: String, existing: JSONObject?? = nil) async -> Bool {
        guard let camera = state.withLock({ s -> Camera? in s.applying.insert(device).inserted ? s.cameras[device] : nil }) else { return false }
        defer { _ = state.withLock { $0.applying.remove(device) } }
        do {
            let current: JSONObject?
            if let existing { current = existing } else { current = try await api.configuredPaths()[device] }
            if let current {
                guard PathConfig.isOurs(current) else {
                    if !camera.foreign { logger.warning("\(device): MediaMTX has a path of that name that camera-service did not create; leaving it alone") }
                    mark(device, applied: true, foreign: true)
                    return false
                }
                if !PathConfig.matches(current, camera.body) {
                    try await api.replacePath(device, camera.body)
                    logger.info("\(device): MediaMTX path updated")
                }
            } else {
                do { try await api.addPath(device, camera.body) } catch {
                    guard error.status == 400, error.message.contains("already exists") else { throw error }
                    try await api.replacePath(device, camera.body)  // someone added it meanwhile
                }
                logger.info("\(device): MediaMTX path added (on-demand publisher from \(camera.input.ffmpegArguments.last ?? "?"))")
            }
            mark(device, applied: true, foreign: false)
            succeeded()
            return true
        } catch let error as MediaMTXError {
            logger.error("\(device): cannot configure its MediaMTX path: \(error)")
            mark(device, applied: false, foreign: false)
            if error.isUnreachable { failed(error) }
            return false
        } catch {
            return false
        }
    }

    func mark(_ device: String, applied: Bool, foreign: Bool) {
        state.withLock { s in
            s.cameras[device]?.applied = applied
            s.cameras[device]?.foreign = foreign
        }
    }

    /// New runtime figures: cached, viewers noted (they start the viewer linger), and
    /// `stream.started`/`stream.stopped` for paths whose readiness changed.
    func observe(_ runtime: [String: RuntimePath], complete: Bool, names: [String]?, since asked: Double) {
        let now = Timestamp.monotonic()
        var changes: [(String, Bool)] = []
        let sink: (any MediaEventSink)? = state.withLock { s in
            let targets = names ?? Array(s.cameras.keys)
            for name in targets where s.cameras[name] != nil {
                let r = runtime[name]
                if complete || r != nil { s.runtime[name] = r }
                let ready = r?.ready ?? false
                if ready != s.ready.contains(name) {
                    changes.append((name, ready))
                    if ready { s.ready.insert(name) } else { s.ready.remove(name) }
                }
                if ready { s.holds[name, default: Hold()].keeperFailures = 0 }
                if let r { s.holds[name, default: Hold()].noteReaders(r.readers, asked: asked, now: now, linger: settings.viewerIdle) }
            }
            return s.sink
        }
        for (name, ready) in changes {
            let st = streamState(name, runtime[name])
            logger.info("\(name): stream \(ready ? "ready" : "no longer published")")
            sink?.streamChanged(st, change: ready ? .started : .stopped)
        }
    }

    // MARK: breaker

    func breakerAllows() -> Bool { state.withLock { $0.breaker.allows(now: Timestamp.monotonic()) } }

    func requireBreaker() throws {
        let (allowed, error) = state.withLock { s in (s.breaker.allows(now: Timestamp.monotonic()), s.breaker.lastError) }
        guard allowed else {
            throw RPCError.dependencyFailed(MediaMTXBackend.component, detail: "MediaMTX at \(settings.apiURL) is unreachable (circuit open): \(error ?? "no answer")")
        }
    }

    func succeeded() {
        let (closedNow, first) = state.withLock { s -> (Bool, Bool) in
            let was = s.breaker.stateName, first = s.breaker.lastSuccess == nil
            s.breaker.succeeded(now: Timestamp.monotonic())
            return (was != "closed" && s.breaker.stateName == "closed", first)
        }
        if closedNow { logger.notice("MediaMTX reachable again: circuit closed") }
        if closedNow || first { reportHealth() }
    }

    func failed(_ error: MediaMTXError) {
        guard error.isUnreachable else { return }  // MediaMTX answered: it is up, the request was refused
        let opened = state.withLock { s -> Bool in
            let was = s.breaker.stateName
            s.breaker.failed(now: Timestamp.monotonic(), error: error.message, random: Double.random(in: 0..<1))
            if s.breaker.stateName == "open" {
                // Whatever MediaMTX had is unknown now; re-apply when it answers again.
                s.runtime = [:]
                for k in s.cameras.keys { s.cameras[k]?.applied = false }
            }
            return was != "open" && s.breaker.stateName == "open"
        }
        if opened {
            logger.error("MediaMTX unreachable: \(error.message); circuit open")
            reportHealth()
            // Streams are gone as far as anyone can tell.
            let (gone, sink) = state.withLock { s -> ([String], (any MediaEventSink)?) in
                let g = Array(s.ready)
                s.ready = []
                return (g, s.sink)
            }
            for name in gone { sink?.streamChanged(streamState(name, nil), change: .stopped) }
        }
    }

    func dependency(_ error: MediaMTXError) -> RPCError {
        RPCError.dependencyFailed(MediaMTXBackend.component, detail: error.description)
    }

    func reportHealth() {
        let (breaker, version, started, paths) = state.withLock { ($0.breaker, $0.version, $0.started, $0.cameras.values.filter(\.applied).count) }
        let status: HealthStatus
        let message: String
        switch breaker.state {
        case .closed where breaker.lastSuccess != nil:
            status = .healthy
            message = "MediaMTX \(version) at \(settings.apiURL), \(paths) path(s)"
        case .closed:
            status = breaker.lastError == nil ? .degraded : .unhealthy
            message = breaker.lastError.map { "MediaMTX at \(settings.apiURL) not answering: \($0)" } ?? "connecting to MediaMTX at \(settings.apiURL)"
        case .halfOpen:
            status = .degraded
            message = "MediaMTX at \(settings.apiURL) answering again; confirming"
        case .open(let until):
            status = .unhealthy
            message = "MediaMTX at \(settings.apiURL) unreachable: \(breaker.lastError ?? "no answer"); next try in \(max(0, Int((until - Timestamp.monotonic()).rounded(.up)))) s"
        }
        var details: JSONObject = ["circuit_breaker": .string(breaker.stateName), "api_url": .string(settings.apiURL),
                                   "consecutive_openings": .int(breaker.openings)]
        details["last_error"] = breaker.lastError.map(JSONValue.string) ?? .null
        details["last_success"] = breaker.lastSuccess.map { .string(Timestamp.rfc3339(Timestamp.now() - (Timestamp.monotonic() - $0))) } ?? .null
        details["version"] = version.isEmpty ? .null : .string(version)
        details["mediamtx_started"] = started.map(JSONValue.string) ?? .null
        health.report(MediaMTXBackend.component, ComponentHealth(status: status, message: message, details: details))
    }

    /// The machine's name, for stream URLs when no public host is configured and no client host is known.
    static let machineName: String = {
        var buf = [CChar](repeating: 0, count: 256)
        guard gethostname(&buf, buf.count) == 0 else { return "localhost" }
        let name = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "localhost" : name
    }()
}

/// A lease on a stream; released once (by `release()` or when dropped).
final class Lease: StreamLease {
    let backend: MediaMTXBackend
    let device: String
    let id: UInt64
    private let released = Atomic<Bool>(false)
    init(backend: MediaMTXBackend, device: String, id: UInt64) {
        self.backend = backend
        self.device = device
        self.id = id
    }
    func release() {
        guard !released.exchange(true, ordering: .relaxed) else { return }
        backend.release(device, id)
    }
    deinit { release() }
}

/// One camera's stream as the capture engine sees it.
final class BackendStream: StreamSource {
    let backend: MediaMTXBackend
    let device: String
    let readURL: String
    init(backend: MediaMTXBackend, device: String, readURL: String) {
        self.backend = backend
        self.device = device
        self.readURL = readURL
    }
    func readiness() -> StreamReadiness { backend.readiness(device) }
    func acquire(for purpose: StreamPurpose, timeout: Double) async throws -> any StreamLease {
        try await backend.acquire(device, purpose, timeout: timeout)
    }
}
