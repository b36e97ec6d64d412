import CUdev
import Glibc

/// udev's netlink monitor for the `video4linux` subsystem (the normal source of hot-plug
/// events on a host), plus udev properties that identify a physical camera across re-plugs.
public final class UdevWatch {
    public enum Change: Equatable {
        case added(String)
        case removed(String)
        case changed(String)
    }
    let udev: OpaquePointer
    let monitor: OpaquePointer
    public let fd: Int32

    /// Nil when udev is not running here (no /run/udev/control) or the monitor cannot start.
    public init?() {
        guard access("/run/udev/control", F_OK) == 0, let udev = udev_new() else { return nil }
        guard let monitor = udev_monitor_new_from_netlink(udev, "udev") else {
            udev_unref(udev)
            return nil
        }
        udev_monitor_filter_add_match_subsystem_devtype(monitor, "video4linux", nil)
        guard udev_monitor_enable_receiving(monitor) >= 0 else {
            udev_monitor_unref(monitor)
            udev_unref(udev)
            return nil
        }
        self.udev = udev
        self.monitor = monitor
        fd = udev_monitor_get_fd(monitor)
    }

    deinit {
        udev_monitor_unref(monitor)
        udev_unref(udev)
    }

    /// One pending event (call while the fd is readable).
    public func read() -> Change? {
        guard let dev = udev_monitor_receive_device(monitor) else { return nil }
        defer { udev_device_unref(dev) }
        guard let sysname = udev_device_get_sysname(dev).map({ String(cString: $0) }) else { return nil }
        switch udev_device_get_action(dev).map({ String(cString: $0) }) ?? "" {
        case "add": return .added(sysname)
        case "remove": return .removed(sysname)
        default: return .changed(sysname)
        }
    }

    /// A stable identity for `videoN` from udev's database (USB serial, else the physical port).
    public static func stableID(sysname: String) -> String? {
        guard let udev = udev_new() else { return nil }
        defer { udev_unref(udev) }
        guard let dev = udev_device_new_from_subsystem_sysname(udev, "video4linux", sysname) else { return nil }
        defer { udev_device_unref(dev) }
        for key in ["ID_SERIAL", "ID_PATH"] {
            if let v = udev_device_get_property_value(dev, key) { return "\(key.lowercased()):\(String(cString: v))" }
        }
        return nil
    }
}
