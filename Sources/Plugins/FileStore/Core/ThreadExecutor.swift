import Glibc
import PluginAPI
import Synchronization

/// A serial executor with one dedicated OS thread: an actor that uses it runs every job
/// there, so its blocking calls (SQLite, directory scans, unlink, statvfs) never occupy a
/// thread of the small cooperative pool, nor the network thread.
///
/// `@unchecked Sendable`: the job queue is behind a `Mutex`; the only other state is the
/// POSIX semaphore, which is made for use from several threads (`sem_post`/`sem_wait`).
public final class ThreadExecutor: SerialExecutor, @unchecked Sendable {  // safe: see above (Mutex-guarded queue, a POSIX semaphore)
    private let jobs = Mutex<[UnownedJob]>([])
    private let ready: UnsafeMutablePointer<sem_t>

    /// Starts the thread. It holds the executor and runs as long as the daemon (a plugin is
    /// never unloaded), so neither is ever released.
    public init() {
        ready = .allocate(capacity: 1)
        sem_init(ready, 0, 0)
        spawnThread { [self] in run() }
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        jobs.withLock { $0.append(unowned) }
        sem_post(ready)
    }

    public func asUnownedSerialExecutor() -> UnownedSerialExecutor { UnownedSerialExecutor(ordinary: self) }

    private func run() {
        var batch: [UnownedJob] = []
        while true {
            while sem_wait(ready) != 0 && errno == EINTR {}
            if batch.isEmpty {
                batch = jobs.withLock { q in
                    defer { q.removeAll(keepingCapacity: true) }
                    return q
                }
                batch.reverse()
            }
            // One job per post: the semaphore's count stays the number of queued jobs.
            guard let job = batch.popLast() else { continue }
            job.runSynchronously(on: asUnownedSerialExecutor())
        }
    }
}
