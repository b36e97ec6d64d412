import Codecs
import Glibc
import PluginAPI
import Synchronization

/// Takes snapshots by the tier policy (``SnapshotPlan``): from the stream (the frame cache,
/// or a reader started for it), from the stream started on demand, or directly from the
/// camera's input; at most `max_concurrent_snapshots` FFmpeg processes at once.
final class SnapshotTaker: Sendable {
    let settings: CaptureSettings
    let processes: ProcessLauncher
    let logger: Logger
    let slots: AsyncSemaphore
    private let caches = Mutex<[String: FrameCache]>([:])

    init(settings: CaptureSettings, processes: ProcessLauncher, logger: Logger) {
        self.settings = settings
        self.processes = processes
        self.logger = logger
        slots = AsyncSemaphore(limit: settings.maxConcurrentSnapshots)
    }

    /// A cached frame is used while younger than this (the reader delivers `cache_fps`).
    var cacheMaxAge: Double { max(2 / settings.cacheFPS, 1) + 0.5 }

    func take(_ r: SnapshotRequest) async throws -> SnapshotResult {
        var plan = SnapshotPlan.choose(stream: r.stream?.readiness(), input: r.input)
        while true {
            if case .impossible(let why) = plan { throw RPCError.dependencyFailed("capture", detail: "\(r.device): \(why)") }
            do {
                return try await run(plan, r)
            } catch let e as RPCError where e.code == -32050 {
                guard let next = SnapshotPlan.fallback(after: plan, stream: r.stream?.readiness(), input: r.input) else { throw e }
                logger.info("\(r.device): snapshot from the stream failed (\(e.data["detail"]?.stringValue ?? "")); capturing directly")
                plan = next
            }
        }
    }

    private func run(_ plan: SnapshotPlan, _ r: SnapshotRequest) async throws -> SnapshotResult {
        let began = Timestamp.monotonic()
        switch plan {
        case .fromStream:
            guard let stream = r.stream else { throw RPCError.dependencyFailed("capture", detail: "no stream") }
            return try await fromStream(stream, r, tier: .stream, timeout: settings.streamSnapshotTimeout, began: began)
        case .startStream:
            guard let stream = r.stream else { throw RPCError.dependencyFailed("capture", detail: "no stream") }
            let lease = try await stream.acquire(for: .snapshot, timeout: settings.startedSnapshotTimeout)
            defer { lease.release() }
            let left = max(1, settings.startedSnapshotTimeout - (Timestamp.monotonic() - began))
            return try await fromStream(stream, r, tier: .startedStream, timeout: left, began: began)
        case .direct:
            guard let input = r.input else { throw RPCError.dependencyFailed("capture", detail: "\(r.device): no input") }
            return try await withSlot(r.device, timeout: settings.directSnapshotTimeout) {
                try await grab(FFmpegCommands.grabDirect(input: input, skip: settings.directSkipFrames, format: r.format,
                                                         qscale: qscale(r), output: partPath(r.outputPath)),
                               r, tier: .direct, timeout: settings.directSnapshotTimeout)
            }
        case .impossible(let why):
            throw RPCError.dependencyFailed("capture", detail: why)
        }
    }

    /// A frame of the published stream: the cache's latest, else the cache's first (its reader
    /// started now), else (cache off) a one-frame reader.
    private func fromStream(_ stream: any StreamSource, _ r: SnapshotRequest, tier: SnapshotTier, timeout: Double, began: Double) async throws -> SnapshotResult {
        guard settings.cacheEnabled else {
            return try await withSlot(r.device, timeout: timeout) {
                try await grab(FFmpegCommands.grabFromStream(url: stream.readURL, format: r.format, qscale: qscale(r), output: partPath(r.outputPath)),
                               r, tier: tier, timeout: timeout)
            }
        }
        let cache = try await cacheFor(stream, timeout: timeout)
        let frame: FrameCache.Frame
        if let f = cache.fresh(maxAge: cacheMaxAge) {
            frame = f
        } else if let f = await cache.nextFrame(timeout: max(0.2, timeout - (Timestamp.monotonic() - began))) {
            frame = f
        } else {
            throw RPCError.dependencyFailed("ffmpeg", detail: "\(r.device): no frame from the stream within \(Int(timeout)) s")
        }
        return try await write(frame, r, tier: tier)
    }

    /// The camera's frame cache, its reader started (holding a snapshot lease) if it was not running.
    private func cacheFor(_ stream: any StreamSource, timeout: Double) async throws -> FrameCache {
        let device = stream.device
        if let running = caches.withLock({ $0[device] }), running.isRunning { return running }
        let cache = FrameCache(device: device, qscale: CaptureSettings.qscale(settings.jpegQuality))
        let lease = try await stream.acquire(for: .snapshot, timeout: timeout)
        var spec = ProcessSpec(executable: settings.ffmpeg, arguments: FFmpegCommands.cacheReader(url: stream.readURL, fps: settings.cacheFPS, qscale: cache.qscale),
                               label: "frame cache \(device)")
        spec.stdout = .bytes { bytes in cache.received(bytes) }
        spec.stopTimeout = 2
        let child: ChildProcess
        do { child = try await processes.spawn(spec) } catch {
            lease.release()
            throw RPCError.dependencyFailed("ffmpeg", detail: "\(error)")
        }
        cache.run(child, lease: lease)
        let replaced = caches.withLock { c -> FrameCache? in
            defer { c[device] = cache }
            return c[device]
        }
        if let replaced { Task { await replaced.stop() } }
        logger.debug("\(device): frame cache started")
        return cache
    }

    /// Writes a cached frame: as it is when the format and quality are the cache's, else re-encoded.
    private func write(_ frame: FrameCache.Frame, _ r: SnapshotRequest, tier: SnapshotTier) async throws -> SnapshotResult {
        let part = partPath(r.outputPath)
        let cacheQ = CaptureSettings.qscale(settings.jpegQuality)
        if r.format == .jpg && qscale(r) == cacheQ {
            try writeFile(part, frame.jpeg)
        } else {
            let source = part + ".src.jpg"
            try writeFile(source, frame.jpeg)
            defer { unlink(source) }
            _ = try await withSlot(r.device, timeout: settings.streamSnapshotTimeout) {
                try await runFFmpeg(FFmpegCommands.transcode(input: source, format: r.format, qscale: qscale(r), output: part), r.device,
                                    timeout: settings.streamSnapshotTimeout)
            }
        }
        return try finish(r, tier: tier, frameAt: frame.at)
    }

    /// Runs a one-frame FFmpeg into the part file, then finishes the snapshot.
    private func grab(_ arguments: [String], _ r: SnapshotRequest, tier: SnapshotTier, timeout: Double) async throws -> SnapshotResult {
        try await runFFmpeg(arguments, r.device, timeout: timeout)
        return try finish(r, tier: tier, frameAt: Timestamp.monotonic())
    }

    private func runFFmpeg(_ arguments: [String], _ device: String, timeout: Double) async throws {
        var spec = ProcessSpec(executable: settings.ffmpeg, arguments: arguments, label: "snapshot \(device)")
        spec.timeLimit = timeout
        spec.stopTimeout = 1
        spec.terminateTimeout = 1
        let exit: ProcessExit
        do { exit = await (try await processes.spawn(spec)).wait() } catch {
            throw RPCError.dependencyFailed("ffmpeg", detail: "\(error)")
        }
        guard exit.succeeded else {
            let why = exit.timedOut ? "no frame within \(shortSeconds(timeout)) s" : exit.description
            throw RPCError.dependencyFailed("ffmpeg", detail: "\(device): \(why)")
        }
    }

    /// Moves the part file into place and describes it.
    private func finish(_ r: SnapshotRequest, tier: SnapshotTier, frameAt: Double) throws -> SnapshotResult {
        let part = partPath(r.outputPath)
        var st = stat()
        guard stat(part, &st) == 0, st.st_size > 0 else {
            unlink(part)
            throw RPCError.dependencyFailed("ffmpeg", detail: "\(r.device): no image was written")
        }
        let header = readHead(part, 64 * 1024)
        guard rename(part, r.outputPath) == 0 else {
            let e = String(cString: strerror(errno))
            unlink(part)
            throw RPCError.dependencyFailed("capture", detail: "cannot write \(r.outputPath): \(e)")
        }
        let size = ImageSize.of(header).map { "\($0.width)x\($0.height)" } ?? ""
        let age = Int(((Timestamp.monotonic() - frameAt) * 1000).rounded())
        return SnapshotResult(outputPath: r.outputPath, fileSize: Int(st.st_size), tier: tier, frameAgeMs: max(0, age), resolution: size)
    }

    private func withSlot<T: Sendable>(_ device: String, timeout: Double, _ body: () async throws -> T) async throws -> T {
        guard await slots.wait(timeout: timeout) else {
            throw RPCError.dependencyFailed("ffmpeg", detail: "\(device): \(settings.maxConcurrentSnapshots) snapshot(s) already running; none finished within \(shortSeconds(timeout)) s")
        }
        defer { slots.signal() }
        return try await body()
    }

    func qscale(_ r: SnapshotRequest) -> Int { CaptureSettings.qscale(r.quality ?? settings.jpegQuality) }

    /// Stops frame caches nobody used for `cache_idle`, and all when `everything`.
    func reapCaches(everything: Bool = false) async {
        let idle = caches.withLock { c -> [FrameCache] in
            let gone = c.values.filter { everything || !$0.isRunning || $0.idleFor > settings.cacheIdle }
            for g in gone { c[g.device] = nil }
            return gone
        }
        for cache in idle {
            await cache.stop()
            logger.debug("\(cache.device): frame cache stopped")
        }
    }

    func dropCache(_ device: String) async {
        if let cache = caches.withLock({ $0.removeValue(forKey: device) }) { await cache.stop() }
    }
}

/// Where a file is written before it is complete: a hidden name beside it (the store ignores
/// dot files), renamed into place when whole.
func partPath(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." + path + ".part" }
    return String(path[...slash]) + "." + path[path.index(after: slash)...] + ".part"
}

func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o640)
    guard fd >= 0 else { throw RPCError.dependencyFailed("capture", detail: "cannot write \(path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var off = 0
    while off < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress.map { $0 + off }, $0.count - off) }
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { throw RPCError.dependencyFailed("capture", detail: "cannot write \(path): \(String(cString: strerror(errno)))") }
        off += n
    }
}

func readHead(_ path: String, _ limit: Int) -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return [] }
    defer { close(fd) }
    var buf = [UInt8](repeating: 0, count: limit)
    let n = read(fd, &buf, limit)
    return n > 0 ? Array(buf[0..<n]) : []
}

func shortSeconds(_ s: Double) -> String { s == s.rounded() ? String(Int(s)) : String(s) }
