import Codecs
@testable import FFmpegCaptureCore
import PluginAPI
import Synchronization
import Testing

/// A lease that counts its releases.
final class CountingLease: StreamLease {
    let released = Mutex(0)
    func release() { released.withLock { $0 += 1 } }
}

@Suite struct FrameCacheTests {
    /// The smallest JPEG the splitter accepts: SOI, then EOI.
    let jpeg: [UInt8] = [0xFF, 0xD8, 0xFF, 0xD9]

    func runningCache() async throws -> (FrameCache, ChildProcess, CountingLease) {
        let launcher = ProcessLauncher(owner: "test", logger: Logger(label: "test", handler: QuietLog()))
        let child = try await launcher.spawn(ProcessSpec(executable: "/bin/sleep", arguments: ["30"], label: "reader"))
        let cache = FrameCache(device: "cam", qscale: 6)
        let lease = CountingLease()
        cache.run(child, lease: lease)
        return (cache, child, lease)
    }

    /// A reader slow to deliver its first frame (a loaded machine, a slow relay) is in use while
    /// a snapshot waits on it: the idle reaper must not stop it under the waiting snapshot.
    @Test func aCacheWithAWaitingSnapshotIsNotIdle() async throws {
        let (cache, child, lease) = try await runningCache()
        let waiting = Task { await cache.nextFrame(timeout: 10) }
        try await Task.sleep(for: .milliseconds(400))
        #expect(cache.idleFor == 0)
        let answered = Timestamp.monotonic()
        cache.received(jpeg)
        let frame = await waiting.value
        #expect(frame?.jpeg == jpeg)
        #expect(cache.idleFor <= Timestamp.monotonic() - answered)  // counted from the frame that answered the snapshot
        try await Task.sleep(for: .milliseconds(300))
        #expect(cache.idleFor >= 0.3)
        #expect(cache.fresh(maxAge: 5)?.jpeg == jpeg)
        await cache.stop()
        #expect(!cache.isRunning && lease.released.withLock { $0 } == 1)
        _ = child
    }

    @Test func aWaiterWhoseTimeIsUpLeavesWithoutAFrame() async throws {
        let (cache, _, lease) = try await runningCache()
        let asked = Timestamp.monotonic()
        let frame = await cache.nextFrame(timeout: 0.2)
        #expect(frame == nil)
        #expect(cache.idleFor <= Timestamp.monotonic() - asked - 0.2)  // counted from when the wait ended
        await cache.stop()
        #expect(await cache.nextFrame(timeout: 5) == nil)  // a stopped cache answers at once
        #expect(lease.released.withLock { $0 } == 1)
    }
}
