import PluginAPI

/// What one V4L2 node said about itself (VIDIOC_QUERYCAP, ENUM_FMT, ENUM_FRAMESIZES,
/// ENUM_FRAMEINTERVALS, G_FMT). A value: capabilities and capture inputs derive from it.
public struct DeviceProbe: Sendable, Equatable {
    public struct Size: Sendable, Equatable {
        public var width: Int
        public var height: Int
        /// Frame rates offered at this size, highest first.
        public var rates: [Double]
        public init(width: Int, height: Int, rates: [Double]) {
            self.width = width
            self.height = height
            self.rates = rates
        }
    }

    public struct Format: Sendable, Equatable {
        /// FourCC, e.g. `YUYV`, `MJPG`.
        public var fourcc: String
        public var description: String
        public var compressed: Bool
        public var sizes: [Size]
        public init(fourcc: String, description: String, compressed: Bool, sizes: [Size]) {
            self.fourcc = fourcc
            self.description = description
            self.compressed = compressed
            self.sizes = sizes
        }
    }

    public var driver: String
    public var card: String
    public var busInfo: String
    /// `device_caps` when the driver reports them, else `capabilities`.
    public var deviceCaps: UInt32
    public var formats: [Format]
    /// The current format (G_FMT), if any.
    public var current: (fourcc: String, width: Int, height: Int)?

    public init(driver: String, card: String, busInfo: String, deviceCaps: UInt32, formats: [Format],
                current: (fourcc: String, width: Int, height: Int)?) {
        self.driver = driver
        self.card = card
        self.busInfo = busInfo
        self.deviceCaps = deviceCaps
        self.formats = formats
        self.current = current
    }

    public static func == (a: DeviceProbe, b: DeviceProbe) -> Bool {
        a.driver == b.driver && a.card == b.card && a.busInfo == b.busInfo && a.deviceCaps == b.deviceCaps && a.formats == b.formats
            && a.current?.fourcc == b.current?.fourcc && a.current?.width == b.current?.width && a.current?.height == b.current?.height
    }

    static let capVideoCapture: UInt32 = 0x0000_0001
    static let capStreaming: UInt32 = 0x0400_0000
    static let capMetaCapture: UInt32 = 0x0080_0000

    /// A UVC camera has a capture node and a metadata node; only the capture node is a camera.
    public var isVideoCapture: Bool { deviceCaps & DeviceProbe.capVideoCapture != 0 }

    /// The contract's capabilities result.
    public var capabilities: CameraCapabilities {
        var sizes: [(Int, Int)] = []
        var rates: Set<Double> = []
        for f in formats {
            for s in f.sizes {
                if !sizes.contains(where: { $0 == (s.width, s.height) }) { sizes.append((s.width, s.height)) }
                rates.formUnion(s.rates)
            }
        }
        sizes.sort { $0.0 * $0.1 > $1.0 * $1.1 }
        let sortedRates = rates.sorted(by: >)
        var flags: [String] = []
        if deviceCaps & DeviceProbe.capVideoCapture != 0 { flags.append("video_capture") }
        if deviceCaps & DeviceProbe.capStreaming != 0 { flags.append("streaming") }
        return CameraCapabilities(formats: formats.map(\.fourcc), resolutions: sizes.map { "\($0.0)x\($0.1)" },
                                  fpsOptions: Array(Set(sortedRates.map { Int($0.rounded()) })).sorted(by: >),
                                  frameRates: sortedRates.map(DeviceProbe.rateText), capabilities: flags, validationStatus: "confirmed")
    }

    static func rateText(_ r: Double) -> String {
        r == r.rounded() ? String(Int(r)) : String((r * 100).rounded() / 100)
    }

    /// The default mode: the current format's size at its best rate, preferring a compressed
    /// format (MJPG keeps USB bandwidth low) when it offers that size.
    public var defaultMode: (fourcc: String, width: Int, height: Int, fps: Int)? {
        guard let first = formats.first, let firstSize = first.sizes.first else { return nil }
        let width = current?.width ?? firstSize.width, height = current?.height ?? firstSize.height
        let candidates = formats.sorted { $0.compressed && !$1.compressed }
        for f in candidates {
            if let s = f.sizes.first(where: { $0.width == width && $0.height == height }) {
                return (f.fourcc, width, height, Int((s.rates.first ?? 30).rounded()))
            }
        }
        return (first.fourcc, firstSize.width, firstSize.height, Int((firstSize.rates.first ?? 30).rounded()))
    }

    /// FFmpeg's name for a V4L2 FourCC (`-input_format`).
    public static func ffmpegInputFormat(_ fourcc: String) -> String {
        switch fourcc {
        case "MJPG", "JPEG": return "mjpeg"
        case "YUYV": return "yuyv422"
        case "UYVY": return "uyvy422"
        case "NV12": return "nv12"
        case "YU12": return "yuv420p"
        case "GREY": return "gray"
        case "RGB3": return "rgb24"
        case "BGR3": return "bgr24"
        case "H264": return "h264"
        default: return fourcc.lowercased()
        }
    }

    /// How FFmpeg reads this camera at its default mode.
    public func captureInput(path: String) -> CaptureInput? {
        guard let m = defaultMode else { return nil }
        return CaptureInput(ffmpegArguments: ["-f", "v4l2", "-input_format", DeviceProbe.ffmpegInputFormat(m.fourcc),
                                              "-video_size", "\(m.width)x\(m.height)", "-framerate", String(m.fps), "-i", path],
                            resolution: "\(m.width)x\(m.height)", fps: m.fps)
    }
}
