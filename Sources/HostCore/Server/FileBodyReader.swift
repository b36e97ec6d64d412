import Glibc
import Synchronization

/// Reads a file body chunk by chunk off the network thread (a cold disk must never stall the
/// loop). The descriptor is closed exactly once: by ``cancel()`` when no read is running, else
/// by the read that finds the transfer cancelled.
final class FileBodyReader: Sendable {
    private struct State {
        var fd: Int32
        var offset: Int
        var remaining: Int
        var reading = false
        var cancelled = false
    }
    private let state: Mutex<State>
    static let chunkSize = 128 * 1024

    init(descriptor: Int32, offset: Int, length: Int) {
        state = Mutex(State(fd: descriptor, offset: offset, remaining: length))
    }

    /// The next chunk; empty at the end; nil when cancelled or the read failed (the transfer is then cut).
    func next() -> [UInt8]? {
        let job: (fd: Int32, offset: Int, count: Int)? = state.withLock { s in
            guard !s.cancelled, s.remaining > 0 else { return nil }
            s.reading = true
            return (s.fd, s.offset, min(s.remaining, FileBodyReader.chunkSize))
        }
        guard let job else { return state.withLock { $0.cancelled } ? nil : [] }
        var chunk = [UInt8](repeating: 0, count: job.count)
        var got = 0
        while got < job.count {
            let n = chunk.withUnsafeMutableBytes { pread(job.fd, $0.baseAddress.map { $0 + got }, job.count - got, off_t(job.offset + got)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }  // error or the file shrank: cut the transfer
            got += n
        }
        return state.withLock { s in
            s.reading = false
            if s.cancelled {
                close(s.fd)
                return nil
            }
            guard got == job.count else { return nil }
            s.offset += got
            s.remaining -= got
            return chunk
        }
    }

    var isFinished: Bool { state.withLock { $0.remaining == 0 } }

    func cancel() {
        state.withLock { s in
            guard !s.cancelled else { return }
            s.cancelled = true
            if !s.reading { close(s.fd) }
        }
    }

    /// Called when the transfer ended normally.
    func finish() { cancel() }
}
