import CV4L2
import Codecs
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
        var buffer = [UInt8](repeating: 0, count: 16384)
        return InotifyRecord.drain(fd, buffer: &buffer).compactMap { r in
            let name = String(decoding: r.name, as: UTF8.self)
            if r.has(IN_CREATE | IN_MOVED_TO | IN_ATTRIB | IN_CLOSE_WRITE) { return .appeared(name) }
            if r.has(IN_DELETE | IN_MOVED_FROM) { return .vanished(name) }
            return nil
        }
    }
}
