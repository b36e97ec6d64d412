import CV4L2
import PluginAPI
import Glibc

/// Why a node could not be probed.
public struct ProbeError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public let errno: Int32
    public var description: String { message }
    public init(message: String, errno: Int32) {
        self.message = message
        self.errno = errno
    }
}

/// The ioctl side: opens a node and asks it everything a camera list needs. Blocking calls;
/// run on a thread of their own (a wedged device may never answer).
public enum V4L2Device {
    public static func probe(path: String) throws(ProbeError) -> DeviceProbe {
        let fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw ProbeError(message: "open \(path): \(String(cString: strerror(errno)))", errno: errno) }
        defer { close(fd) }
        var cap = v4l2_capability()
        guard xioctl(fd, CV4L2_VIDIOC_QUERYCAP, &cap) == 0 else {
            throw ProbeError(message: "VIDIOC_QUERYCAP on \(path): \(String(cString: strerror(errno)))", errno: errno)
        }
        let caps = cap.capabilities & UInt32(V4L2_CAP_DEVICE_CAPS) != 0 ? cap.device_caps : cap.capabilities
        var probe = DeviceProbe(driver: text(cap.driver), card: text(cap.card), busInfo: text(cap.bus_info), deviceCaps: caps,
                                formats: [], current: nil)
        guard probe.isVideoCapture else { return probe }
        probe.formats = enumerateFormats(fd)
        var fmt = v4l2_format()
        fmt.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
        if xioctl(fd, CV4L2_VIDIOC_G_FMT, &fmt) == 0 {
            probe.current = (fourccText(fmt.fmt.pix.pixelformat), Int(fmt.fmt.pix.width), Int(fmt.fmt.pix.height))
        }
        return probe
    }

    static func enumerateFormats(_ fd: Int32) -> [DeviceProbe.Format] {
        var formats: [DeviceProbe.Format] = []
        for index in 0..<64 {
            var desc = v4l2_fmtdesc()
            desc.index = UInt32(index)
            desc.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
            guard xioctl(fd, CV4L2_VIDIOC_ENUM_FMT, &desc) == 0 else { break }
            formats.append(DeviceProbe.Format(fourcc: fourccText(desc.pixelformat), description: text(desc.description),
                                              compressed: desc.flags & UInt32(V4L2_FMT_FLAG_COMPRESSED) != 0,
                                              sizes: enumerateSizes(fd, desc.pixelformat)))
        }
        return formats
    }

    static func enumerateSizes(_ fd: Int32, _ pixelformat: UInt32) -> [DeviceProbe.Size] {
        var sizes: [DeviceProbe.Size] = []
        for index in 0..<256 {
            var fs = v4l2_frmsizeenum()
            fs.index = UInt32(index)
            fs.pixel_format = pixelformat
            guard xioctl(fd, CV4L2_VIDIOC_ENUM_FRAMESIZES, &fs) == 0 else { break }
            if fs.type == V4L2_FRMSIZE_TYPE_DISCRETE.rawValue {
                let w = Int(fs.discrete.width), h = Int(fs.discrete.height)
                sizes.append(DeviceProbe.Size(width: w, height: h, rates: enumerateRates(fd, pixelformat, w, h)))
            } else {
                // Stepwise/continuous: offer the largest size (cameras like this are rare).
                let w = Int(fs.stepwise.max_width), h = Int(fs.stepwise.max_height)
                sizes.append(DeviceProbe.Size(width: w, height: h, rates: enumerateRates(fd, pixelformat, w, h)))
                break
            }
        }
        return sizes
    }

    static func enumerateRates(_ fd: Int32, _ pixelformat: UInt32, _ width: Int, _ height: Int) -> [FrameRate] {
        var rates: [FrameRate] = []
        for index in 0..<64 {
            var fi = v4l2_frmivalenum()
            fi.index = UInt32(index)
            fi.pixel_format = pixelformat
            fi.width = UInt32(width)
            fi.height = UInt32(height)
            guard xioctl(fd, CV4L2_VIDIOC_ENUM_FRAMEINTERVALS, &fi) == 0 else { break }
            let frac = fi.type == V4L2_FRMIVAL_TYPE_DISCRETE.rawValue ? fi.discrete : fi.stepwise.min
            // An interval of numerator/denominator seconds is denominator/numerator frames a second.
            if let rate = FrameRate(Int(frac.denominator), Int(frac.numerator)), !rates.contains(rate) { rates.append(rate) }
            if fi.type != V4L2_FRMIVAL_TYPE_DISCRETE.rawValue { break }
        }
        return rates.sorted { $0.value > $1.value }
    }

    /// ioctl, retried on EINTR.
    static func xioctl<T>(_ fd: Int32, _ request: UInt, _ arg: inout T) -> Int32 {
        while true {
            let r = withUnsafeMutablePointer(to: &arg) { ioctl(fd, request, UnsafeMutableRawPointer($0)) }
            if r == -1 && errno == EINTR { continue }
            return r
        }
    }

    /// A NUL-terminated fixed-size C string field.
    static func text<T>(_ field: T) -> String {
        withUnsafeBytes(of: field) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    /// `V4L2_PIX_FMT_*` as its four characters.
    public static func fourccText(_ v: UInt32) -> String {
        let bytes = [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF), UInt8((v >> 16) & 0xFF), UInt8((v >> 24) & 0x7F)]
        return String(decoding: bytes.filter { $0 >= 0x20 && $0 < 0x7F }, as: UTF8.self).trimmingSpaces()
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}
