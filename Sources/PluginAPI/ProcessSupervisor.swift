#if canImport(Glibc)
import Glibc
#endif
internal import CPluginSupport
import Synchronization

/// The one thread that starts, watches and reaps every supervised child of the daemon.
///
/// Children are forked from this thread, which lives as long as the process: `PR_SET_PDEATHSIG`
/// fires when the forking *thread* ends, so forking from a short-lived thread would kill the
/// child early. The thread polls a wake pipe, each child's pidfd (readable when it exits) and
/// its output pipes; it reaps with `waitpid`, so no child is ever left a zombie. Without pidfd
/// support (Linux before 5.3) it checks every child with `WNOHANG` every 50 ms instead.
final class ProcessSupervisor: Sendable {
    static let shared = ProcessSupervisor()

    enum Command: Sendable {
        case spawn(SpawnJob)
        case stop(Int32)
        case kill(Int32)
        case stopAll(CheckedContinuation<Void, Never>)
    }
    struct SpawnJob: Sendable {
        let spec: ProcessSpec
        let path: String
        let logger: Logger
        let done: CheckedContinuation<Result<ChildProcess, ProcessSpawnError>, Never>
    }

    private let commands = Mutex<[Command]>([])
    private let live = Mutex(0)
    private let wake: (read: Int32, write: Int32)
    private let started = Mutex(false)

    private init() {
        var fds: [Int32] = [-1, -1]
        _ = fds.withUnsafeMutableBufferPointer { cps_pipe($0.baseAddress) }
        for fd in fds { _ = fcntl(fd, F_SETFL, O_NONBLOCK) }
        wake = (fds[0], fds[1])
    }

    var liveCount: Int { live.withLock { $0 } }

    func post(_ command: Command) {
        let first = commands.withLock { q in
            q.append(command)
            return q.count == 1
        }
        let start = started.withLock { s in
            defer { s = true }
            return !s
        }
        if start { spawnThread { [self] in SupervisorLoop(self).run() } }
        if first {
            var one: UInt8 = 1
            _ = write(wake.write, &one, 1)
        }
    }

    func take() -> [Command] {
        var sink = [UInt8](repeating: 0, count: 64)
        while read(wake.read, &sink, sink.count) > 0 {}
        return commands.withLock { q in
            defer { q.removeAll() }
            return q
        }
    }

    var wakeFD: Int32 { wake.read }

    func spawn(_ spec: ProcessSpec, logger: Logger) async -> Result<ChildProcess, ProcessSpawnError> {
        let env = ProcessEnvironment.current(adding: spec.environment)
        guard let path = ProcessEnvironment.resolve(spec.executable, path: env["PATH"] ?? "/usr/local/bin:/usr/bin:/bin") else {
            return .failure(ProcessSpawnError(executable: spec.executable, errno: ENOENT, message: "not found (PATH: \(env["PATH"] ?? "unset"))"))
        }
        return await withCheckedContinuation { done in
            post(.spawn(SpawnJob(spec: spec, path: path, logger: logger, done: done)))
        }
    }

    func stopAll() async {
        await withCheckedContinuation { done in post(.stopAll(done)) }
    }

    func changeLive(_ delta: Int) { live.withLock { $0 += delta } }
}

/// The supervisor thread's own state: touched by that thread only.
private final class SupervisorLoop {
    let supervisor: ProcessSupervisor
    var children: [Int32: Supervised] = [:]
    var stopAllWaiters: [CheckedContinuation<Void, Never>] = []
    let devNull: Int32

    init(_ supervisor: ProcessSupervisor) {
        self.supervisor = supervisor
        devNull = open("/dev/null", O_RDWR | O_CLOEXEC)
    }

    func run() {
        while true {
            var fds = [pollfd(fd: supervisor.wakeFD, events: Int16(POLLIN), revents: 0)]
            var owners: [(Int32, Supervised.Pipe?)] = [(0, nil)]
            var needsPolling = false
            for (pid, c) in children {
                if c.pidfd >= 0 {
                    fds.append(pollfd(fd: c.pidfd, events: Int16(POLLIN), revents: 0))
                    owners.append((pid, nil))
                } else {
                    needsPolling = true
                }
                for pipe in [Supervised.Pipe.stdout, .stderr] where c.fd(pipe) >= 0 {
                    fds.append(pollfd(fd: c.fd(pipe), events: Int16(POLLIN), revents: 0))
                    owners.append((pid, pipe))
                }
            }
            let now = monotonicNow()
            var timeout = children.values.compactMap(\.nextDeadline).min().map { max(0, $0 - now) } ?? 60
            if needsPolling { timeout = min(timeout, 0.05) }
            _ = poll(&fds, nfds_t(fds.count), Int32(min(timeout * 1000 + 1, 60_000)))
            if fds[0].revents != 0 { for command in supervisor.take() { perform(command) } }
            var exited: Set<Int32> = []
            for i in 1..<fds.count where fds[i].revents != 0 {
                let (pid, pipe) = owners[i]
                guard let c = children[pid] else { continue }
                if let pipe { c.drain(pipe) } else { exited.insert(pid) }
            }
            if needsPolling { for (pid, c) in children where c.pidfd < 0 { exited.insert(pid) } }
            for pid in exited { reapIfDone(pid) }
            let after = monotonicNow()
            for c in children.values { c.advance(now: after) }
            if children.isEmpty && !stopAllWaiters.isEmpty {
                for w in stopAllWaiters { w.resume() }
                stopAllWaiters = []
            }
        }
    }

    func perform(_ command: ProcessSupervisor.Command) {
        switch command {
        case .spawn(let job): job.done.resume(returning: start(job))
        case .stop(let pid): children[pid]?.requestStop(now: monotonicNow())
        case .kill(let pid): children[pid]?.killNow()
        case .stopAll(let done):
            let now = monotonicNow()
            for c in children.values { c.requestStop(now: now) }
            if children.isEmpty { done.resume() } else { stopAllWaiters.append(done) }
        }
    }

    func start(_ job: ProcessSupervisor.SpawnJob) -> Result<ChildProcess, ProcessSpawnError> {
        let spec = job.spec
        func failure(_ e: Int32, _ what: String) -> Result<ChildProcess, ProcessSpawnError> {
            .failure(ProcessSpawnError(executable: spec.executable, errno: e, message: "\(what): \(String(cString: strerror(e)))"))
        }
        var stdinPipe: [Int32] = [-1, -1], outPipe: [Int32] = [-1, -1], errPipe: [Int32] = [-1, -1]
        let wantsStdin: Bool
        if case .quit = spec.stopMethod.value { wantsStdin = true } else { wantsStdin = false }
        let wantsStdout: Bool
        if case .discard = spec.stdout.value { wantsStdout = false } else { wantsStdout = true }
        func closeAll() { for fd in stdinPipe + outPipe + errPipe where fd >= 0 { close(fd) } }
        if wantsStdin && stdinPipe.withUnsafeMutableBufferPointer({ cps_pipe($0.baseAddress) }) != 0 { return failure(errno, "pipe") }
        if wantsStdout && outPipe.withUnsafeMutableBufferPointer({ cps_pipe($0.baseAddress) }) != 0 {
            let e = errno; closeAll(); return failure(e, "pipe")
        }
        if errPipe.withUnsafeMutableBufferPointer({ cps_pipe($0.baseAddress) }) != 0 { let e = errno; closeAll(); return failure(e, "pipe") }

        let argv = CStringArray([spec.executable] + spec.arguments)
        let envp = CStringArray(ProcessEnvironment.current(adding: spec.environment).map { "\($0.key)=\($0.value)" })
        var err: Int32 = 0
        let pid: Int32 = job.path.withCString { path in
            func go(_ cwd: UnsafePointer<CChar>?) -> Int32 {
                cps_spawn(path, argv.pointers, envp.pointers, cwd, wantsStdin ? stdinPipe[0] : devNull,
                          wantsStdout ? outPipe[1] : devNull, errPipe[1], &err)
            }
            if let dir = spec.workingDirectory { return dir.withCString { go($0) } }
            return go(nil)
        }
        // The child's ends belong to the child now.
        for fd in [stdinPipe[0], outPipe[1], errPipe[1]] where fd >= 0 { close(fd) }
        guard pid > 0 else {
            for fd in [stdinPipe[1], outPipe[0], errPipe[0]] where fd >= 0 { close(fd) }
            return failure(err, "exec \(job.path)")
        }
        for fd in [stdinPipe[1], outPipe[0], errPipe[0]] where fd >= 0 { _ = fcntl(fd, F_SETFL, O_NONBLOCK) }
        let child = ChildProcess(pid: pid, label: spec.label, supervisor: supervisor)
        let supervised = Supervised(child: child, spec: spec, logger: job.logger, pidfd: cps_pidfd_open(pid),
                                    stdin: stdinPipe[1], stdout: outPipe[0], stderr: errPipe[0], now: monotonicNow())
        children[pid] = supervised
        supervisor.changeLive(1)
        job.logger.debug("started \(spec.label) (pid \(pid)): \(([spec.executable] + spec.arguments).joined(separator: " "))")
        return .success(child)
    }

    /// Collects `pid`'s exit if it has exited; then its group's leftovers are killed, its
    /// pipes drained and closed, and waiters told.
    func reapIfDone(_ pid: Int32) {
        guard let c = children[pid] else { return }
        var status: Int32 = 0
        let r = waitpid(pid, &status, WNOHANG)
        guard r != 0 else { return }
        let termination: ProcessExit.Termination
        if r < 0 {
            termination = .exited(-1)  // ECHILD: someone else reaped it (SIGCHLD set to SIG_IGN)
        } else {
            var code: Int32 = 0
            termination = cps_decode_status(status, &code) == 2 ? .signaled(code) : .exited(code)
        }
        _ = Glibc.kill(-pid, SIGKILL)  // grandchildren left in its group go with it
        c.drain(.stdout)
        c.drain(.stderr)
        children[pid] = nil
        supervisor.changeLive(-1)
        let exit = c.finish(termination, now: monotonicNow())
        c.logger.log(exit.succeeded || exit.stopRequested ? .debug : .info, "\(c.child.label) (pid \(pid)) \(exit)")
        c.child.finished(exit)
    }
}

/// One child as the supervisor thread sees it.
private final class Supervised {
    enum Pipe { case stdout, stderr }
    enum StopStage { case running, asked(until: Double), terminating(until: Double), killed }

    let child: ChildProcess
    let spec: ProcessSpec
    let logger: Logger
    let pidfd: Int32
    var stdin: Int32
    var stdout: Int32
    var stderr: Int32
    let started: Double
    let timeLimitAt: Double?
    var stage = StopStage.running
    var stopRequested = false
    var timedOut = false
    var outLines: LineSplitter
    var errLines: LineSplitter
    var tail = LineTail(capacity: 20)
    var rate = LogRateLimit(perSecond: 50)
    static let maxLineBytes = 1024
    /// Bytes read per wake-up and pipe: a child that prints without pause cannot starve the others.
    static let readBudget = 256 * 1024

    init(child: ChildProcess, spec: ProcessSpec, logger: Logger, pidfd: Int32, stdin: Int32, stdout: Int32, stderr: Int32, now: Double) {
        self.child = child
        self.spec = spec
        self.logger = logger
        self.pidfd = pidfd
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        started = now
        timeLimitAt = spec.timeLimit.map { now + $0 }
        outLines = LineSplitter(maxLineBytes: Supervised.maxLineBytes)
        errLines = LineSplitter(maxLineBytes: Supervised.maxLineBytes)
    }

    func fd(_ pipe: Pipe) -> Int32 { pipe == .stdout ? stdout : stderr }

    var nextDeadline: Double? {
        switch stage {
        case .running: return timeLimitAt
        case .asked(let t), .terminating(let t): return t
        case .killed: return nil
        }
    }

    /// Reads what the pipe holds now (up to the budget); closes it at end of file.
    func drain(_ pipe: Pipe) {
        let fd = self.fd(pipe)
        guard fd >= 0 else { return }
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var total = 0
        while total < Supervised.readBudget {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                total += n
                buffer.withUnsafeBytes { consume(pipe, UnsafeRawBufferPointer(rebasing: $0[0..<n]), chunk: buffer, count: n) }
                continue
            }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && errno == EAGAIN { return }
            closePipe(pipe)  // EOF or error
            return
        }
    }

    func consume(_ pipe: Pipe, _ bytes: UnsafeRawBufferPointer, chunk: [UInt8], count: Int) {
        if pipe == .stdout {
            switch spec.stdout.value {
            case .bytes(let handler): handler(Array(chunk[0..<count]))
            case .log(let level): outLines.feed(bytes) { line(.stdout, $0, level) }
            case .discard: break
            }
        } else {
            errLines.feed(bytes) { line(.stderr, $0, spec.stderrLevel) }
        }
    }

    func line(_ stream: ProcessStream, _ text: String, _ level: LogLevel) {
        if stream == .stderr { tail.add(text) }
        spec.onLine?(stream, text)
        guard logger.isEnabled(level) else { return }
        if rate.admit(now: monotonicNow(), summary: { n in logger.log(level, "\(spec.label): \(n) more output lines not logged") }) {
            logger.log(level, text, [("stream", stream.description)])
        }
    }

    func closePipe(_ pipe: Pipe) {
        if pipe == .stdout {
            if stdout >= 0 { close(stdout) }
            stdout = -1
            if case .log(let level) = spec.stdout.value { outLines.finish { line(.stdout, $0, level) } }
        } else {
            if stderr >= 0 { close(stderr) }
            stderr = -1
            errLines.finish { line(.stderr, $0, spec.stderrLevel) }
        }
    }

    func requestStop(now: Double) {
        guard case .running = stage else { return }
        stopRequested = true
        switch spec.stopMethod.value {
        case .quit(let command) where stdin >= 0:
            _ = command.withUnsafeBytes { write(stdin, $0.baseAddress, $0.count) }
        default:
            _ = Glibc.kill(-child.pid, SIGINT)
        }
        stage = .asked(until: now + spec.stopTimeout)
    }

    func killNow() {
        stopRequested = true
        _ = Glibc.kill(-child.pid, SIGKILL)
        stage = .killed
    }

    /// Moves the stop sequence on when a deadline has passed.
    func advance(now: Double) {
        switch stage {
        case .running:
            if let limit = timeLimitAt, now >= limit {
                timedOut = true
                logger.warning("\(spec.label) (pid \(child.pid)) ran past its time limit of \(spec.timeLimit ?? 0) s; stopping it")
                requestStop(now: now)
            }
        case .asked(let until) where now >= until:
            logger.warning("\(spec.label) (pid \(child.pid)) did not stop within \(spec.stopTimeout) s after \(spec.stopMethod); sending SIGTERM")
            _ = Glibc.kill(-child.pid, SIGTERM)
            stage = .terminating(until: now + spec.terminateTimeout)
        case .terminating(let until) where now >= until:
            logger.warning("\(spec.label) (pid \(child.pid)) ignored SIGTERM for \(spec.terminateTimeout) s; sending SIGKILL")
            killNow()
        default:
            break
        }
    }

    func finish(_ termination: ProcessExit.Termination, now: Double) -> ProcessExit {
        closePipe(.stdout)
        closePipe(.stderr)
        rate.finish { n in logger.log(spec.stderrLevel, "\(spec.label): \(n) more output lines not logged") }
        if stdin >= 0 { close(stdin) }
        stdin = -1
        if pidfd >= 0 { close(pidfd) }
        return ProcessExit(termination: termination, stopRequested: stopRequested, timedOut: timedOut, runtime: now - started,
                           lastLines: tail.lines)
    }
}

/// NUL-terminated C strings for execve, allocated before fork (the child must not allocate).
private final class CStringArray {
    let pointers: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
    let count: Int
    init(_ strings: [String]) {
        count = strings.count
        pointers = .allocate(capacity: strings.count + 1)
        for (i, s) in strings.enumerated() { pointers[i] = strdup(s) }
        pointers[strings.count] = nil
    }
    deinit {
        for i in 0..<count { free(pointers[i]) }
        pointers.deallocate()
    }
}

/// The daemon's environment and program lookup.
enum ProcessEnvironment {
    /// The process environment with `extra` added.
    static func current(adding extra: [String: String]) -> [String: String] {
        var env: [String: String] = [:]
        var p = environ
        while let entry = p.pointee {
            let s = String(cString: entry)
            if let eq = s.firstIndex(of: "=") { env[String(s[..<eq])] = String(s[s.index(after: eq)...]) }
            p += 1
        }
        for (k, v) in extra { env[k] = v }
        return env
    }

    /// `name` itself when it contains a `/`, else the first executable `dir/name` in `path`.
    static func resolve(_ name: String, path: String) -> String? {
        if name.contains("/") { return access(name, X_OK) == 0 ? name : nil }
        for dir in path.split(separator: ":") where !dir.isEmpty {
            let candidate = "\(dir)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}
