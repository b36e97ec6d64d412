#if canImport(Glibc)
import Glibc
#endif

/// Runs `body` on a new detached OS thread. For blocking work (device ioctls, `poll` loops,
/// waiting on child processes) that must not occupy a thread of Swift's small cooperative
/// pool, where it would stall every task on a 2-core machine.
public func spawnThread(_ body: @escaping @Sendable () -> Void) {
    let arg = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
    var tid = pthread_t()
    let rc = pthread_create(&tid, nil, { raw in
        guard let raw else { return nil }
        Unmanaged<ThreadBody>.fromOpaque(raw).takeRetainedValue().body()
        return nil
    }, arg)
    if rc == 0 {
        pthread_detach(tid)
    } else {
        Unmanaged<ThreadBody>.fromOpaque(arg).takeRetainedValue().body()  // no thread: run here rather than never
    }
}

final class ThreadBody: Sendable {
    let body: @Sendable () -> Void
    init(_ body: @escaping @Sendable () -> Void) { self.body = body }
}
