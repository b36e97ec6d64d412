import Glibc
import PluginAPI
import Synchronization
import Testing

/// Collects log lines.
final class CapturingLog: LogHandler {
    let minimumLevel: LogLevel
    let lines = Mutex<[LogEvent]>([])
    init(_ level: LogLevel = .trace) { minimumLevel = level }
    func log(_ event: LogEvent) { lines.withLock { $0.append(event) } }
    var messages: [String] { lines.withLock { $0.map(\.message) } }
}

/// Whether `pid` is gone or only a zombie of someone else (after a test, none may be ours).
func isGoneOrForeignZombie(_ pid: Int32) -> Bool {
    let fd = open("/proc/\(pid)/stat", O_RDONLY)
    guard fd >= 0 else { return true }
    defer { close(fd) }
    var buf = [UInt8](repeating: 0, count: 512)
    let n = read(fd, &buf, buf.count)
    guard n > 0, let close = buf[0..<n].lastIndex(of: UInt8(ascii: ")")), close + 2 < n else { return true }
    return buf[close + 2] == UInt8(ascii: "Z")
}

@Suite(.serialized) struct ChildProcessTests {
    let log = CapturingLog()
    var launcher: ProcessLauncher { ProcessLauncher(owner: "test", logger: Logger(label: "test", handler: log)) }

    func sh(_ script: String, label: String = "sh") -> ProcessSpec {
        var s = ProcessSpec(executable: "/bin/sh", arguments: ["-c", script], label: label)
        s.stdout = .log(.info)
        s.stderrLevel = .info
        return s
    }

    @Test func nonZeroExitIsReportedWithItsLastWords() async throws {
        let child = try await launcher.spawn(sh("echo first >&2; echo 'oops: broken' >&2; exit 3"))
        let exit = await child.wait()
        #expect(exit.termination == .exited(3) && !exit.succeeded && !exit.stopRequested)
        #expect(exit.lastLines == ["first", "oops: broken"])
        #expect(exit.description.contains("status 3") && exit.description.contains("oops: broken"))
        #expect(isGoneOrForeignZombie(child.pid))  // reaped: no zombie of ours
    }

    @Test func gracefulStopThenTerminateThenKill() async throws {
        // Ignores SIGINT: SIGTERM ends it.
        var spec = sh("trap '' INT; sleep 30; exit 0")
        spec.stopTimeout = 0.3
        spec.terminateTimeout = 5
        var child = try await launcher.spawn(spec)
        try await Task.sleep(for: .milliseconds(100))
        var began = ContinuousClock.now
        var exit = await child.stop()
        #expect(exit.termination == .signaled(SIGTERM) && exit.stopRequested)
        #expect(ContinuousClock.now - began >= .milliseconds(250) && ContinuousClock.now - began < .seconds(3))

        // Ignores SIGINT and SIGTERM: SIGKILL ends it.
        spec = sh("trap '' INT TERM; sleep 30; exit 0")
        spec.stopTimeout = 0.2
        spec.terminateTimeout = 0.2
        child = try await launcher.spawn(spec)
        try await Task.sleep(for: .milliseconds(100))
        began = ContinuousClock.now
        exit = await child.stop()
        #expect(exit.termination == .signaled(SIGKILL))
        #expect(ContinuousClock.now - began >= .milliseconds(350) && ContinuousClock.now - began < .seconds(3))
        #expect(log.messages.contains { $0.contains("sending SIGKILL") })
    }

    @Test func quitCommandOnStandardInput() async throws {
        var spec = sh("read answer; echo \"got $answer\"; exit 0")
        spec.stopMethod = .quit("q\n")
        let lines = Mutex<[String]>([])
        spec.onLine = { stream, line in if stream == .stdout { lines.withLock { $0.append(line) } } }
        let child = try await launcher.spawn(spec)
        let exit = await child.stop()
        #expect(exit.succeeded && exit.stopRequested)
        #expect(lines.withLock { $0 } == ["got q"])
    }

    @Test func grandchildrenGoWithTheirGroup() async throws {
        let pids = Mutex<[Int32]>([])
        var spec = sh("sleep 60 & echo $!; sleep 60 & echo $!; wait")
        spec.onLine = { stream, line in if stream == .stdout, let p = Int32(line) { pids.withLock { $0.append(p) } } }
        let child = try await launcher.spawn(spec)
        for _ in 0..<100 where pids.withLock({ $0.count }) < 2 { try await Task.sleep(for: .milliseconds(20)) }
        let grandchildren = pids.withLock { $0 }
        #expect(grandchildren.count == 2)
        for p in grandchildren { #expect(!isGoneOrForeignZombie(p)) }
        _ = await child.stop()
        try await Task.sleep(for: .milliseconds(200))
        for p in grandchildren { #expect(isGoneOrForeignZombie(p)) }
        #expect(isGoneOrForeignZombie(child.pid))
    }

    @Test func aLeaderThatExitsTakesItsGroupAlong() async throws {
        let pids = Mutex<[Int32]>([])
        var spec = sh("sleep 60 & echo $!; exit 0")
        spec.onLine = { _, line in if let p = Int32(line) { pids.withLock { $0.append(p) } } }
        let exit = await (try await launcher.spawn(spec)).wait()
        #expect(exit.succeeded)
        try await Task.sleep(for: .milliseconds(200))
        #expect(pids.withLock { $0 }.count == 1)
        for p in pids.withLock({ $0 }) { #expect(isGoneOrForeignZombie(p)) }  // no orphan left running
    }

    @Test func megabytesOfOutputAreBounded() async throws {
        // 20 MB without a newline, then 200,000 short lines, on both outputs.
        let child = try await launcher.spawn(sh("head -c 20000000 /dev/zero | tr '\\\\0' a; echo; yes line | head -n 200000; yes err | head -n 200000 >&2"))
        let exit = await child.wait()
        #expect(exit.succeeded)
        let lines = log.lines.withLock { $0 }
        let output = lines.filter { $0.metadata.contains { $0 == ("stream", "stdout") } || $0.metadata.contains { $0 == ("stream", "stderr") } }
        // At most 50 lines a second are logged (plus a summary per second); each at most 1 KiB (+ "…").
        #expect(output.count <= 50 * (Int(exit.runtime) + 2))
        #expect(output.allSatisfy { $0.message.utf8.count <= 1024 + 3 })
        #expect(output.first?.message.hasSuffix("…") == true)
        #expect(lines.contains { $0.message.contains("more output lines not logged") })
        #expect(exit.lastLines.count == 20 && exit.lastLines.allSatisfy { $0 == "err" })
    }

    @Test func timeLimitStopsARunawayChild() async throws {
        var spec = sh("sleep 30")
        spec.timeLimit = 0.3
        let exit = await (try await launcher.spawn(spec)).wait()
        #expect(exit.timedOut && exit.stopRequested && exit.runtime < 3)
        #expect(exit.termination == .signaled(SIGINT))
    }

    @Test func programsThatCannotStart() async throws {
        await #expect(throws: ProcessSpawnError.self) {
            _ = try await launcher.spawn(ProcessSpec(executable: "no-such-program-anywhere", arguments: [], label: "x"))
        }
        let path = "/tmp/not-executable-\(getpid())"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        close(fd)
        defer { unlink(path) }
        do {
            _ = try await launcher.spawn(ProcessSpec(executable: path, arguments: [], label: "x"))
            Issue.record("a non-executable file started")
        } catch {
            #expect(error.errno == ENOENT && error.description.contains("not found"), "\(error)")
        }
        // Executable but not a program: execve's error comes back from the child.
        let junk = "/tmp/junk-program-\(getpid())"
        let jfd = open(junk, O_WRONLY | O_CREAT | O_TRUNC, 0o755)
        _ = write(jfd, "\u{1}\u{2}garbage", 9)
        close(jfd)
        defer { unlink(junk) }
        let l = launcher
        do {
            _ = try await l.spawn(ProcessSpec(executable: junk, arguments: [], label: "junk"))
            Issue.record("garbage started")
        } catch {
            #expect(error.errno == ENOEXEC && error.description.contains("exec"), "\(error)")
        }
        #expect(l.failedCount == 1 && l.liveCount == 0)
    }

    @Test func countsLiveChildren() async throws {
        let l = launcher
        let a = try await l.spawn(sh("sleep 30"))
        let b = try await l.spawn(sh("sleep 30"))
        #expect(l.liveCount == 2 && l.startedCount == 2 && ProcessLauncher.totalLive >= 2)
        a.kill()
        _ = await a.wait()
        _ = await b.stop()
        for _ in 0..<50 where l.liveCount != 0 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(l.liveCount == 0 && l.startedCount == 2)
    }

    @Test func argumentsReachTheProgramVerbatim() async throws {
        let lines = Mutex<[String]>([])
        var spec = ProcessSpec(executable: "printf", arguments: ["%s|%s|%s\\n", "a b", "$HOME", "'; rm -rf /'"], label: "printf")
        spec.environment = ["CHILD_VAR": "x"]
        spec.onLine = { _, line in lines.withLock { $0.append(line) } }
        spec.stdout = .log(.debug)
        let exit = await (try await launcher.spawn(spec)).wait()
        #expect(exit.succeeded)
        #expect(lines.withLock { $0 } == ["a b|$HOME|'; rm -rf /'"])  // no shell: nothing expanded
    }

    @Test func rawOutputChunks() async throws {
        let total = Mutex(0)
        var spec = sh("head -c 300000 /dev/zero")
        spec.stdout = .bytes { chunk in total.withLock { $0 += chunk.count } }
        let exit = await (try await launcher.spawn(spec)).wait()
        #expect(exit.succeeded && total.withLock { $0 } == 300_000)
    }
}
