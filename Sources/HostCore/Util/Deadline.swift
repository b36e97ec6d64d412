import Synchronization

/// The result of `work`, or nil when it fails or takes longer than `seconds`. For figures a
/// method adds when it can (a camera's stream metrics): a capability that hangs cannot hold the
/// reply. On time-out `work` goes on in its own task and its result is dropped, so it must bound
/// itself (the capabilities' calls have their own timeouts).
func within<T: Sendable>(_ seconds: Double, _ work: @escaping @Sendable () async throws -> T) async -> T? {
    let slot = Mutex<CheckedContinuation<T?, Never>?>(nil)
    let finish: @Sendable (T?) -> Void = { value in slot.withLock { c in c.take() }?.resume(returning: value) }
    return await withCheckedContinuation { (continuation: CheckedContinuation<T?, Never>) in
        slot.withLock { $0 = continuation }
        let timer = Task {
            try? await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
            if !Task.isCancelled { finish(nil) }
        }
        Task {
            let value = try? await work()
            timer.cancel()
            finish(value)
        }
    }
}
