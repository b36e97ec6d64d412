import Synchronization

/// At most `limit` holders at once; others wait in order, each for at most its own timeout.
public final class AsyncSemaphore: Sendable {
    private struct Waiter {
        let id: UInt64
        let resume: CheckedContinuation<Bool, Never>
    }
    private struct State {
        var available: Int
        var waiters: [Waiter] = []
        var nextID: UInt64 = 0
    }
    private let state: Mutex<State>

    public init(limit: Int) { state = Mutex(State(available: max(1, limit))) }

    /// True once a slot is held (give it back with ``signal()``); false when `timeout` passed first.
    public func wait(timeout: Double) async -> Bool {
        let id: UInt64? = state.withLock { s in
            if s.available > 0 {
                s.available -= 1
                return nil
            }
            s.nextID += 1
            return s.nextID
        }
        guard let id else { return true }
        return await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
            state.withLock { $0.waiters.append(Waiter(id: id, resume: c)) }
            Task {
                try? await Task.sleep(for: .milliseconds(Int(timeout * 1000)))
                let timedOut = state.withLock { s -> CheckedContinuation<Bool, Never>? in
                    guard let i = s.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                    return s.waiters.remove(at: i).resume
                }
                timedOut?.resume(returning: false)
            }
        }
    }

    public func signal() {
        let next = state.withLock { s -> CheckedContinuation<Bool, Never>? in
            if s.waiters.isEmpty {
                s.available += 1
                return nil
            }
            return s.waiters.removeFirst().resume
        }
        next?.resume(returning: true)
    }

    /// Waiting now (for metrics and tests).
    public var waiting: Int { state.withLock { $0.waiters.count } }
}
