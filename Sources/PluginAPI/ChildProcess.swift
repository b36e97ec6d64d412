import Synchronization

/// How a supervised child is asked to stop before it is terminated.
public struct ProcessStopMethod: Sendable, Hashable, CustomStringConvertible {
    enum Value: Hashable, Sendable { case interrupt, quit([UInt8]) }
    let value: Value
    init(_ value: Value) { self.value = value }
    /// SIGINT to the child's process group (FFmpeg then finishes its files, as MediaMTX stops hooks).
    public static let interrupt = ProcessStopMethod(.interrupt)
    /// Write `command` to the child's standard input (FFmpeg's `q`), then wait.
    public static func quit(_ command: String = "q") -> ProcessStopMethod { ProcessStopMethod(.quit(Array(command.utf8))) }
    /// `SIGINT`, or `'<command>' on stdin` for ``quit(_:)``, for logs.
    public var description: String {
        switch value {
        case .interrupt: return "SIGINT"
        case .quit(let c): return "'\(String(decoding: c, as: UTF8.self))' on stdin"
        }
    }
}

/// Where a child's standard output goes.
public struct ProcessOutput: Sendable {
    enum Value: Sendable {
        case log(LogLevel)
        case discard
        case bytes(@Sendable ([UInt8]) -> Void)
    }
    let value: Value
    /// Line by line into the plugin's logger at `level` (bounded, like standard error).
    public static func log(_ level: LogLevel) -> ProcessOutput { ProcessOutput(value: .log(level)) }
    /// Thrown away.
    public static let discard = ProcessOutput(value: .discard)
    /// Raw chunks to `handler` as they arrive (frames from `-f image2pipe pipe:1`). It runs on
    /// the supervisor's thread: keep it short and never block in it.
    public static func bytes(_ handler: @escaping @Sendable ([UInt8]) -> Void) -> ProcessOutput { ProcessOutput(value: .bytes(handler)) }
}

/// Which output a line came from.
public struct ProcessStream: Sendable, Hashable, CustomStringConvertible {
    enum Value: Sendable { case stdout, stderr }
    let value: Value
    /// The child's standard output.
    public static let stdout = ProcessStream(value: .stdout)
    /// The child's standard error.
    public static let stderr = ProcessStream(value: .stderr)
    /// `stdout` or `stderr`.
    public var description: String { value == .stdout ? "stdout" : "stderr" }
}

/// A program to run under supervision. Never a shell: the arguments go to `execve` as they are.
public struct ProcessSpec: Sendable {
    /// A path, or a name searched in `PATH` (`ffmpeg`).
    public var executable: String
    /// The arguments after the program name.
    public var arguments: [String]
    /// Variables added to (or replacing) the daemon's environment.
    public var environment: [String: String] = [:]
    /// The working directory; nil keeps the daemon's.
    public var workingDirectory: String?
    /// Names the child in log lines (`snapshot camera0`).
    public var label: String
    /// How ``ChildProcess/stop()`` asks first.
    public var stopMethod: ProcessStopMethod = .interrupt
    /// Seconds after the stop request before SIGTERM.
    public var stopTimeout: Double = 5
    /// Seconds after SIGTERM before SIGKILL.
    public var terminateTimeout: Double = 2
    /// The longest the child may run; then it is stopped as by ``ChildProcess/stop()``. Nil: no limit.
    public var timeLimit: Double?
    /// Where standard output goes (default: logged at debug).
    public var stdout: ProcessOutput = .log(.debug)
    /// The level standard error lines are logged at.
    public var stderrLevel: LogLevel = .debug
    /// Called with every line of standard error (and of standard output when it is logged),
    /// on the supervisor's thread: keep it short.
    public var onLine: (@Sendable (ProcessStream, String) -> Void)?

    /// Runs `executable` with `arguments`, named `label` in logs; every other field keeps its default.
    public init(executable: String, arguments: [String], label: String) {
        self.executable = executable
        self.arguments = arguments
        self.label = label
    }
}

/// How a child ended.
public struct ProcessExit: Sendable, Equatable, CustomStringConvertible {
    /// The kernel's view (a later minor may add cases: switch with `@unknown default`).
    public enum Termination: Sendable, Equatable {
        /// `exit(code)`.
        case exited(Int32)
        /// Killed by a signal.
        case signaled(Int32)
    }
    /// Whether it exited (with which status) or was killed by a signal.
    public var termination: Termination
    /// It ended after ``ChildProcess/stop()`` (or ``ChildProcess/kill()``) was asked for.
    public var stopRequested: Bool
    /// It ran past ``ProcessSpec/timeLimit`` and was stopped.
    public var timedOut: Bool
    /// Seconds it ran.
    public var runtime: Double
    /// Its last lines of standard error (at most 20, each at most 1 KiB).
    public var lastLines: [String]

    /// An exit, field by field.
    public init(termination: Termination, stopRequested: Bool, timedOut: Bool, runtime: Double, lastLines: [String]) {
        self.termination = termination
        self.stopRequested = stopRequested
        self.timedOut = timedOut
        self.runtime = runtime
        self.lastLines = lastLines
    }

    /// Exited with status 0.
    public var succeeded: Bool { termination == .exited(0) }

    /// `exited with status 1: <last line>`, for logs and error details.
    public var description: String {
        var s: String
        switch termination {
        case .exited(let c): s = "exited with status \(c)"
        case .signaled(let n): s = "killed by signal \(n)"
        }
        if timedOut { s += " after its time limit" } else if stopRequested { s += " after a stop request" }
        if let last = lastLines.last { s += ": \(last)" }
        return s
    }
}

/// A program could not be started.
public struct ProcessSpawnError: Error, Sendable, CustomStringConvertible {
    /// The program as the spec named it (``ProcessSpec/executable``).
    public let executable: String
    /// The `errno` of the failure (`ENOENT` when the program was not found in `PATH`).
    public let errno: Int32
    /// What failed, in words (e.g. `not found (PATH: …)`).
    public let message: String
    /// An error for `executable` with the failure's `errno` and description.
    public init(executable: String, errno: Int32, message: String) {
        self.executable = executable
        self.errno = errno
        self.message = message
    }
    /// `cannot start <executable>: <message>`.
    public var description: String { "cannot start \(executable): \(message)" }
}

/// A running (or finished) supervised child. Its exit is always collected: no zombies.
public final class ChildProcess: Sendable {
    /// Its process id, also its process group id.
    public let pid: Int32
    /// The name it has in log lines (``ProcessSpec/label``).
    public let label: String
    let supervisor: ProcessSupervisor
    let started: Double
    private struct State {
        var exit: ProcessExit?
        var waiters: [CheckedContinuation<ProcessExit, Never>] = []
        var handlers: [@Sendable (ProcessExit) -> Void] = []
    }
    private let state = Mutex(State())

    init(pid: Int32, label: String, supervisor: ProcessSupervisor) {
        self.pid = pid
        self.label = label
        self.supervisor = supervisor
        started = monotonicNow()
    }

    /// How it ended; nil while it runs.
    public var exit: ProcessExit? { state.withLock { $0.exit } }

    /// Waits for it to end.
    public func wait() async -> ProcessExit {
        await withCheckedContinuation { (c: CheckedContinuation<ProcessExit, Never>) in
            let done: ProcessExit? = state.withLock { s in
                if let e = s.exit { return e }
                s.waiters.append(c)
                return nil
            }
            if let done { c.resume(returning: done) }
        }
    }

    /// Calls `handler` once it has ended (at once if it already has), on the supervisor's thread.
    public func onExit(_ handler: @escaping @Sendable (ProcessExit) -> Void) {
        let done: ProcessExit? = state.withLock { s in
            if let e = s.exit { return e }
            s.handlers.append(handler)
            return nil
        }
        if let done { handler(done) }
    }

    /// Asks it to stop (``ProcessSpec/stopMethod``), then SIGTERM, then SIGKILL to its process
    /// group after the spec's timeouts; returns how it ended.
    @discardableResult
    public func stop() async -> ProcessExit {
        supervisor.post(.stop(pid))
        return await wait()
    }

    /// SIGKILL to its process group now; ``wait()`` tells when it is gone.
    public func kill() { supervisor.post(.kill(pid)) }

    func finished(_ exit: ProcessExit) {
        let (waiters, handlers) = state.withLock { s -> ([CheckedContinuation<ProcessExit, Never>], [@Sendable (ProcessExit) -> Void]) in
            s.exit = exit
            defer { s.waiters = []; s.handlers = [] }
            return (s.waiters, s.handlers)
        }
        for h in handlers { h(exit) }
        for w in waiters { w.resume(returning: exit) }
    }
}

/// Starts supervised children for one owner (a plugin): each in its own process group, killed
/// with SIGKILL if the daemon dies (`PR_SET_PDEATHSIG`), its output logged line by line with a
/// bound, its exit collected and delivered asynchronously. The host gives every plugin one
/// through ``PluginContext/processes`` and stops what is left when the daemon exits.
public final class ProcessLauncher: Sendable {
    /// Who starts the children (a plugin name), for logs and metrics.
    public let owner: String
    let logger: Logger
    let supervisor: ProcessSupervisor
    private let counts = Mutex((live: 0, started: 0, failed: 0))

    /// A launcher for `owner`'s children, logging their output through `logger` (the host makes one per plugin).
    public init(owner: String, logger: Logger) {
        self.owner = owner
        self.logger = logger
        supervisor = ProcessSupervisor.shared
    }

    /// Starts `spec`. Throws when the program cannot be found or executed.
    public func spawn(_ spec: ProcessSpec) async throws(ProcessSpawnError) -> ChildProcess {
        let result = await supervisor.spawn(spec, logger: logger.with("child", spec.label))
        switch result {
        case .success(let child):
            counts.withLock { $0.live += 1; $0.started += 1 }
            child.onExit { [self] _ in self.counts.withLock { $0.live -= 1 } }
            return child
        case .failure(let e):
            counts.withLock { $0.failed += 1 }
            throw e
        }
    }

    /// Children of this owner running now.
    public var liveCount: Int { counts.withLock { $0.live } }
    /// Children of this owner started since the daemon started.
    public var startedCount: Int { counts.withLock { $0.started } }
    /// Programs of this owner that could not be started.
    public var failedCount: Int { counts.withLock { $0.failed } }

    /// Children of every owner running now.
    public static var totalLive: Int { ProcessSupervisor.shared.liveCount }

    /// Stops every child of every owner (stop request, then SIGTERM, then SIGKILL) and waits
    /// until all have exited. The host calls it when the daemon stops.
    public static func stopAll() async { await ProcessSupervisor.shared.stopAll() }
}
