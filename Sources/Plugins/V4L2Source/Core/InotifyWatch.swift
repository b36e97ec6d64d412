import CV4L2
import Glibc

/// Watches a directory for device nodes appearing and vanishing (the fallback where udev
/// events do not reach us, e.g. in containers). Non-blocking fd for a `poll` loop.
public final class InotifyWatch {
    public enum Change: Equatable {
        case appeared(String)
        case vanished(String)
    }
    public let fd: Int32

    public init?(directory: String) {
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { return nil }
        let mask = UInt32(IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | IN_ATTRIB | IN_CLOSE_WRITE | IN_DELETE_SELF)
        guard inotify_add_watch(fd, directory, mask) >= 0 else {
            close(fd)
            return nil
        }
        self.fd = fd
    }

    deinit { close(fd) }

    /// Drains pending events.
    public func read() -> [Change] {
        var out: [Change] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { return out }
            var offset = 0
            let header = MemoryLayout<inotify_event>.size
            while offset + header <= n {
                let (mask, len) = buffer.withUnsafeBytes { raw -> (UInt32, Int) in
                    let ev = raw.loadUnaligned(fromByteOffset: offset, as: inotify_event.self)
                    return (ev.mask, Int(ev.len))
                }
                let nameBytes = buffer[(offset + header)..<min(n, offset + header + len)].prefix { $0 != 0 }
                let name = String(decoding: nameBytes, as: UTF8.self)
                offset += header + len
                if mask & UInt32(IN_CREATE | IN_MOVED_TO | IN_ATTRIB | IN_CLOSE_WRITE) != 0 {
                    out.append(.appeared(name))
                } else if mask & UInt32(IN_DELETE | IN_MOVED_FROM) != 0 {
                    out.append(.vanished(name))
                }
            }
        }
    }
}
