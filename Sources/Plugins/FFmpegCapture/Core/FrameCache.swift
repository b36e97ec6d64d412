import Codecs
import PluginAPI
import Synchronization

/// The latest frame of one camera's stream, kept in memory by one low-rate reader while
/// someone takes snapshots (within the idle time), so further snapshots are answered from
/// memory, with the frame's true age. It holds a snapshot lease on the stream while it runs.
final class FrameCache: Sendable {
    struct Frame: Sendable {
        let jpeg: [UInt8]
        /// Monotonic time it arrived.
        let at: Double
    }
    private struct State {
        var latest: Frame?
        var child: ChildProcess?
        var lease: (any StreamLease)?
        var lastUsed = 0.0
        var splitter = JPEGSplitter()
        var waiters: [(id: UInt64, resume: CheckedContinuation<Frame?, Never>)] = []
        var nextWaiter: UInt64 = 0
        var stopped = false
    }
    private let state = Mutex(State())
    let device: String
    let qscale: Int

    init(device: String, qscale: Int) {
        self.device = device
        self.qscale = qscale
    }

    /// Whether the reader runs.
    var isRunning: Bool { state.withLock { $0.child != nil && !$0.stopped } }

    /// Starts the reader on `stream` (holding `lease`).
    func run(_ child: ChildProcess, lease: any StreamLease) {
        state.withLock { s in
            s.child = child
            s.lease = lease
            s.lastUsed = Timestamp.monotonic()
        }
        child.onExit { [self] _ in self.ended() }
    }

    /// Frame bytes from the reader's standard output (on the supervisor's thread: short).
    func received(_ bytes: [UInt8]) {
        let (frame, waiters): (Frame?, [(id: UInt64, resume: CheckedContinuation<Frame?, Never>)]) = state.withLock { s in
            guard let jpeg = s.splitter.feed(bytes).last else { return (nil, []) }
            let f = Frame(jpeg: jpeg, at: Timestamp.monotonic())
            s.latest = f
            if !s.waiters.isEmpty { s.lastUsed = f.at }
            defer { s.waiters = [] }
            return (f, s.waiters)
        }
        if let frame { for w in waiters { w.resume.resume(returning: frame) } }
    }

    /// The latest frame if it is younger than `maxAge` seconds; marks the cache used.
    func fresh(maxAge: Double) -> Frame? {
        state.withLock { s in
            s.lastUsed = Timestamp.monotonic()
            guard let f = s.latest, Timestamp.monotonic() - f.at <= maxAge else { return nil }
            return f
        }
    }

    /// Waits for the next frame (the first one of a reader just started), nil on timeout or when it ends.
    func nextFrame(timeout: Double) async -> Frame? {
        await withCheckedContinuation { (c: CheckedContinuation<Frame?, Never>) in
            let id: UInt64? = state.withLock { s in
                if s.child == nil || s.stopped { return nil }
                s.nextWaiter += 1
                s.waiters.append((s.nextWaiter, c))
                return s.nextWaiter
            }
            guard let id else { c.resume(returning: nil); return }
            Task { [self] in
                try? await Task.sleep(for: .milliseconds(Int(timeout * 1000)))
                self.releaseWaiters(only: id)
            }
        }
    }

    /// Lets waiters go without a frame: the one whose time is up, or all (`only` nil).
    private func releaseWaiters(only id: UInt64? = nil) {
        let waiters = state.withLock { s -> [(id: UInt64, resume: CheckedContinuation<Frame?, Never>)] in
            let gone = s.waiters.filter { id == nil || $0.id == id }
            s.waiters.removeAll { id == nil || $0.id == id }
            if !gone.isEmpty { s.lastUsed = Timestamp.monotonic() }
            return gone
        }
        for w in waiters { w.resume.resume(returning: nil) }
    }

    /// Seconds since the last snapshot used it; 0 while one waits for a frame (a reader slow
    /// to deliver its first frame is in use, not idle).
    var idleFor: Double { state.withLock { $0.waiters.isEmpty ? Timestamp.monotonic() - $0.lastUsed : 0 } }

    func stop() async {
        let child = state.withLock { s -> ChildProcess? in
            s.stopped = true
            return s.child
        }
        if let child { _ = await child.stop() }
        ended()
    }

    private func ended() {
        let lease = state.withLock { s -> (any StreamLease)? in
            s.stopped = true
            s.latest = nil
            defer { s.lease = nil }
            return s.lease
        }
        lease?.release()
        releaseWaiters()
    }
}
