import Codecs
import Glibc
import PluginAPI
import Synchronization

/// Discovery settings (the plugin's `config:`).
public struct V4L2Settings: Sendable {
    public enum Discovery: String, Sendable {
        case auto, udev, inotify, poll
    }
    public var devicesDir = "/dev"
    /// Indexes N of `video<N>` considered.
    public var deviceRange = 0...63
    /// A probe (open + ioctls) not finished by then marks the camera ERROR.
    public var probeTimeout = 2.0
    public var discovery = Discovery.auto
    /// Full rescan period: the last resort under udev/inotify, the only source in poll mode.
    public var rescanInterval = 10.0
    public init() {}
}

/// The V4L2 ``CameraSource``: a discovery thread (udev or inotify events, periodic rescans)
/// and one short-lived thread per probe, so a wedged device never holds up the others.
public final class V4L2CameraSource: CameraSource {
    public let sourceName = "v4l2"
    let settings: V4L2Settings
    let logger: Logger
    private let monitoring = Atomic<Bool>(false)

    /// The discovery thread is running.
    public var isDiscovering: Bool { monitoring.load(ordering: .relaxed) }
    /// One camera per node index in the configured range.
    public var maxCameras: Int? { settings.deviceRange.count }

    struct State {
        var sink: (any CameraEventSink)?
        var nodes: [Int: V4L2Node] = [:]
        var stopped = false
        var initialPending: Set<Int>? = []
        var initialDone: CheckedContinuation<Void, Never>?
    }
    private let state = Mutex(State())
    private let wakeFDs: (read: Int32, write: Int32)

    public init(settings: V4L2Settings, logger: Logger) {
        self.settings = settings
        self.logger = logger
        var fds: [Int32] = [-1, -1]
        if pipe(&fds) == 0 {
            for fd in fds { _ = fcntl(fd, F_SETFL, O_NONBLOCK); _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        }
        wakeFDs = (fds[0], fds[1])
    }

    // MARK: CameraSource

    public func start(_ sink: any CameraEventSink) async throws {
        state.withLock { $0.sink = sink }
        let dir = settings.devicesDir
        guard FileSystem.isDirectory(dir) else {
            logger.warning("devices directory \(dir) does not exist; waiting for rescans")
            spawnThread { [self] in self.monitorLoop() }
            return
        }
        // The list is complete before start() returns: wait for the first probes (bounded).
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            state.withLock { $0.initialDone = done }
            spawnThread { [self] in self.monitorLoop() }
        }
    }

    public func cameras() async -> [CameraInfo] {
        state.withLock { s in s.nodes.values.compactMap(\.info).sorted { $0.device < $1.device } }
    }

    public func capabilities(of device: String) async throws -> CameraCapabilities {
        let probe = state.withLock { s in NodeNames.index(ofCamera: device).flatMap { s.nodes[$0]?.probe } }
        guard let probe else { throw RPCError.notFound(resource: "camera", id: device) }
        return probe.capabilities
    }

    public func captureInput(for device: String) async throws -> CaptureInput {
        let found = state.withLock { s -> (Int, DeviceProbe)? in
            guard let i = NodeNames.index(ofCamera: device), let n = s.nodes[i], let p = n.probe, n.info?.status == .connected else { return nil }
            return (i, p)
        }
        guard let (index, probe) = found, let input = probe.captureInput(path: path(index)) else {
            throw RPCError.notFound(resource: "camera", id: device)
        }
        return input
    }

    public func stop() async {
        state.withLock { $0.stopped = true }
        var one: UInt8 = 1
        _ = write(wakeFDs.write, &one, 1)
    }

    // MARK: discovery loop

    func path(_ index: Int) -> String { settings.devicesDir.hasSuffix("/") ? "\(settings.devicesDir)video\(index)" : "\(settings.devicesDir)/video\(index)" }

    func monitorLoop() {
        monitoring.store(true, ordering: .relaxed)
        defer { monitoring.store(false, ordering: .relaxed) }
        var udev: UdevWatch?
        var inotify: InotifyWatch?
        switch settings.discovery {
        case .udev, .auto:
            udev = UdevWatch()
            if udev == nil || settings.discovery == .auto { inotify = InotifyWatch(directory: settings.devicesDir) }
            if udev == nil && settings.discovery == .udev { logger.warning("udev is not available here; falling back to inotify on \(settings.devicesDir)") }
        case .inotify:
            inotify = InotifyWatch(directory: settings.devicesDir)
        case .poll:
            break
        }
        let sources = [udev != nil ? "udev" : nil, inotify != nil ? "inotify" : nil].compactMap { $0 }
        logger.info("V4L2 discovery on \(settings.devicesDir) (video\(settings.deviceRange.lowerBound)–\(settings.deviceRange.upperBound)) via "
                    + (sources.isEmpty ? "polling" : sources.joined(separator: "+")) + ", rescan every \(settings.rescanInterval) s")
        let initial = scan()
        state.withLock { s in s.initialPending = Set(initial) }
        for i in initial { startProbe(i) }
        finishInitialIfDone()
        let rescanEvery = sources.isEmpty ? min(settings.rescanInterval, 1) : settings.rescanInterval
        var nextRescan = monotonic() + rescanEvery
        while !state.withLock({ $0.stopped }) {
            var fds = [pollfd(fd: wakeFDs.read, events: Int16(POLLIN), revents: 0)]
            if let u = udev { fds.append(pollfd(fd: u.fd, events: Int16(POLLIN), revents: 0)) }
            if let w = inotify { fds.append(pollfd(fd: w.fd, events: Int16(POLLIN), revents: 0)) }
            _ = poll(&fds, nfds_t(fds.count), 100)
            if let u = udev {
                while let change = u.read() {
                    switch change {
                    case .added(let name), .changed(let name): NodeNames.index(name).map { appeared($0) }
                    case .removed(let name): NodeNames.index(name).map { vanished($0) }
                    }
                }
            }
            if let w = inotify {
                for change in w.read() {
                    switch change {
                    case .appeared(let name): NodeNames.index(name).map { appeared($0) }
                    case .vanished(let name): NodeNames.index(name).map { vanished($0) }
                    }
                }
            }
            checkProbeTimeouts()
            if monotonic() >= nextRescan {
                rescan()
                nextRescan = monotonic() + rescanEvery
            }
        }
    }

    /// `video<N>` nodes present now, within the range.
    func scan() -> [Int] {
        let range = settings.deviceRange
        let indexes: [Int] = FileSystem.list(settings.devicesDir).compactMap { NodeNames.index($0) }
        return indexes.filter { range.contains($0) }.sorted()
    }

    func rescan() {
        let present = Set(scan())
        let known = state.withLock { s in Set(s.nodes.filter { $0.value.info?.status != .disconnected || $0.value.probing }.keys) }
        for i in present.subtracting(known) { appeared(i) }
        for i in known.subtracting(present) { vanished(i) }
    }

    func appeared(_ index: Int) {
        guard settings.deviceRange.contains(index) else { return }
        let wedged = state.withLock { s in s.nodes[index]?.probing == true }
        if !wedged { startProbe(index) }
    }

    func vanished(_ index: Int) {
        state.withLock { s in
            guard let info = s.nodes[index]?.vanished() else { return }
            logger.info("\(info.device) disconnected")
            emit(info, .disconnected, &s)
        }
    }

    func startProbe(_ index: Int) {
        let (generation, path) = state.withLock { s -> (Int, String) in
            var node = s.nodes[index] ?? V4L2Node(index: index)
            let generation = node.probeStarted(deadline: monotonic() + settings.probeTimeout)
            s.nodes[index] = node
            return (generation, self.path(index))
        }
        spawnThread { [self] in
            let result: Result<DeviceProbe, ProbeError>
            do throws(ProbeError) { result = .success(try V4L2Device.probe(path: path)) } catch { result = .failure(error) }
            self.probeFinished(index, generation: generation, result)
        }
    }

    func probeFinished(_ index: Int, generation: Int, _ result: Result<DeviceProbe, ProbeError>) {
        let outcome: V4L2Node.Outcome = state.withLock { s in
            guard var node = s.nodes[index] else { return .none }
            let outcome = node.probeFinished(generation: generation, result, stableID: UdevWatch.stableID(sysname:))
            s.nodes[index] = node
            if case .report(let info, let changes) = outcome {
                logger.info("\(info.device) \(info.status.rawValue.lowercased()): \(info.name) \(info.resolution)@\(info.frameRate?.description ?? "?")\(info.errorMessage.isEmpty ? "" : " (\(info.errorMessage))")")
                for change in changes { emit(info, change, &s) }  // under the lock: a concurrent unplug cannot overtake them
            }
            return outcome
        }
        if case .retry = outcome {
            spawnThread { [self] in
                usleep(200_000)
                self.startProbe(index)
            }
        }
        initialProbeDone(index)
    }

    /// Probes past their deadline: the device is wedged. It is listed as ERROR; its thread
    /// stays blocked in the kernel, and the node is not probed again until it changes.
    func checkProbeTimeouts() {
        let now = monotonic()
        let timedOut: [Int] = state.withLock { s in
            var out: [Int] = []
            for (i, var node) in s.nodes {
                guard let info = node.probeTimedOut(now: now, timeout: settings.probeTimeout) else { continue }
                s.nodes[i] = node
                logger.warning("\(info.device): \(info.errorMessage); marked ERROR")
                emit(info, .statusChanged, &s)
                out.append(i)
            }
            return out
        }
        for i in timedOut { initialProbeDone(i) }
    }

    /// Reports a change; called with the state lock held, so changes of one camera reach the
    /// host in the order they happened. (The host's sink never calls back into this source.)
    func emit(_ info: CameraInfo, _ change: CameraChange, _ s: inout State) {
        guard s.initialPending == nil else { return }  // the first list is read, not announced
        s.sink?.cameraChanged(info, change: change)
    }

    func initialProbeDone(_ index: Int) {
        state.withLock { s in _ = s.initialPending?.remove(index) }
        finishInitialIfDone()
    }

    func finishInitialIfDone() {
        let done: CheckedContinuation<Void, Never>? = state.withLock { s in
            guard let pending = s.initialPending, pending.isEmpty else { return nil }
            s.initialPending = nil
            let c = s.initialDone
            s.initialDone = nil
            return c
        }
        done?.resume()
    }
}

func monotonic() -> Double { Timestamp.monotonic() }

/// Directory listing without Foundation.
enum FileSystem {
    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    static func list(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}
