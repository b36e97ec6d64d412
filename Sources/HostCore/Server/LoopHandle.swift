import CLinux
import Glibc
import PluginAPI
import Synchronization
import WireProtocols

/// Identifies a connection across threads: the fd may be reused, the id never is.
package struct ConnectionRef: Sendable, Hashable {
    package let fd: Int32
    package let id: UInt64
}

/// Work handed to the network thread from other threads.
enum LoopJob: Sendable {
    /// A JSON-RPC reply (text), or nil when an async call produced none.
    case rpcReply(ConnectionRef, [UInt8]?)
    /// An HTTP response computed off the network thread.
    case httpResponse(ConnectionRef, HTTPRouteResponse, keepAlive: Bool, headOnly: Bool, authorized: Bool)
    /// The next chunk of a streamed body.
    case bodyChunk(ConnectionRef, BodyChunk)
    /// A server-to-client notification (text frame) for one connection.
    case notify(ConnectionRef, [UInt8])
    /// The connection's session got an identity (`authenticate` or a per-call token).
    case authenticated(ConnectionRef)
    /// Proof of life for the watchdog: the loop runs the closure when it gets to it.
    case heartbeat(@Sendable () -> Void)
    /// Stop accepting, finish in-flight requests, close every connection (WebSockets with 1001).
    case shutdown
}

/// The thread-safe side of the network thread: a job queue and the eventfd that wakes it.
/// Posting is lock + append; the eventfd is only written when the queue was empty.
package final class LoopHandle: Sendable {
    let wakeFD: Int32
    private let jobs = Mutex<[LoopJob]>([])

    init() throws(SystemError) {
        wakeFD = eventfd(0, Int32(EFD_NONBLOCK) | Int32(EFD_CLOEXEC))
        guard wakeFD >= 0 else { throw SystemError("eventfd") }
    }

    func post(_ job: LoopJob) {
        let wasEmpty = jobs.withLock { q in
            q.append(job)
            return q.count == 1
        }
        if wasEmpty {
            var one: UInt64 = 1
            _ = write(wakeFD, &one, 8)
        }
    }

    func take() -> [LoopJob] {
        var counter: UInt64 = 0
        _ = read(wakeFD, &counter, 8)
        return jobs.withLock { q in
            let all = q
            q.removeAll(keepingCapacity: true)
            return all
        }
    }

    /// Asks the server to shut down gracefully (from a signal handler thread or a test).
    /// Jobs run in order: notifications posted before it (`system.shutdown`) are queued
    /// before the 1001 close frames.
    package func requestShutdown() { post(.shutdown) }

    /// Runs `answer` on the network thread once it reaches the job (the watchdog's probe).
    package func heartbeat(_ answer: @escaping @Sendable () -> Void) { post(.heartbeat(answer)) }
}
