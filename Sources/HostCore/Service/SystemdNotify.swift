import CLinux
import Glibc
import PluginAPI

/// The sd_notify protocol, by hand (no libsystemd): one datagram of `KEY=value` lines to the
/// AF_UNIX socket systemd names in `NOTIFY_SOCKET` (a path, or `@name` in the abstract
/// namespace). Used for `Type=notify` readiness, `STOPPING=1` and the watchdog.
package struct SystemdNotify: Sendable, Equatable {
    /// The socket address bytes (`sun_path`; a leading NUL for an abstract name).
    let path: [UInt8]
    /// How often systemd wants `WATCHDOG=1`: half its `WatchdogSec`, nil when off or meant for
    /// another process (`WATCHDOG_PID`).
    package let watchdogInterval: Double?

    /// From the environment systemd gives the service; nil when not run under systemd's notify.
    package init?(environment env: [String: String], pid: Int32) {
        guard let socket = env["NOTIFY_SOCKET"], socket.utf8.count > 1, socket.utf8.count < 108 else { return nil }
        switch socket.utf8.first {
        case UInt8(ascii: "/"): path = Array(socket.utf8)
        case UInt8(ascii: "@"): path = [0] + Array(socket.utf8.dropFirst())
        default: return nil
        }
        let forUs = env["WATCHDOG_PID"].map { Int32($0) == pid } ?? true
        if forUs, let text = env["WATCHDOG_USEC"], let usec = UInt64(text), usec > 0 {
            watchdogInterval = Double(usec) / 2_000_000
        } else {
            watchdogInterval = nil
        }
    }

    /// Sends one state message (`READY=1`, `STOPPING=1`, `WATCHDOG=1`, `STATUS=…`); false when
    /// it could not be delivered (systemd gone: nothing to do about it).
    @discardableResult
    package func send(_ state: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in path.enumerated() { raw[i] = b }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + path.count + (path.first == 0 ? 0 : 1))
        let message = Array(state.utf8)
        let sent = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                message.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), sa, length) }
            }
        }
        return sent == message.count
    }
}
