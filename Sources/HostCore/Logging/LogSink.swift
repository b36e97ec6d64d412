import Glibc
import PluginAPI
import Synchronization

/// Writes log lines to stderr as JSON lines (`{"ts":…,"level":…,"logger":…,"msg":…,…}`) or
/// as text, chosen by `logging.format`. One `write(2)` per line under a lock, so lines from
/// different threads never interleave.
package final class LogSink: LogHandler {
    package let minimumLevel: LogLevel
    let json: Bool
    let fd: Int32
    /// Lines kept back while something must be printed first (the demo's banner); nil: none.
    let held = Mutex<[[UInt8]]?>(nil)
    static let maxHeldLines = 10_000

    package init(level: LogLevel, format: String, fd: Int32 = 2) {
        minimumLevel = level
        json = format != "text"
        self.fd = fd
    }

    package func log(_ e: LogEvent) {
        var line: [UInt8] = []
        line.reserveCapacity(128 + e.message.utf8.count)
        let ts = HostClock.rfc3339(HostClock.now())
        if json {
            var o: JSONObject = ["ts": .string(ts), "level": .string(e.level.name), "logger": .string(e.label), "msg": .string(e.message)]
            for (k, v) in e.metadata where o[k] == nil { o[k] = .string(v) }
            o.write(to: &line)
        } else {
            line.append(contentsOf: "\(ts) \(e.level.name.uppercased()) [\(e.label)] \(e.message)".utf8)
            for (k, v) in e.metadata { line.append(contentsOf: " \(k)=\(v)".utf8) }
        }
        line.append(0x0A)
        held.withLock { held in
            if let count = held?.count {
                if count < Self.maxHeldLines { held?.append(line) }
            } else {
                write(line)
            }
        }
    }

    /// Keeps lines back until ``release()``.
    package func hold() { held.withLock { if $0 == nil { $0 = [] } } }

    /// Writes the lines kept back, then logs straight through again.
    package func release() {
        held.withLock { held in
            for line in held ?? [] { write(line) }
            held = nil
        }
    }

    /// Called under the lock, so lines from different threads never interleave.
    private func write(_ line: [UInt8]) {
        line.withUnsafeBytes { b in
            var off = 0
            while off < b.count {
                let n = Glibc.write(fd, b.baseAddress.map { $0 + off }, b.count - off)
                if n <= 0 { if n < 0 && errno == EINTR { continue }; break }
                off += n
            }
        }
    }
}
