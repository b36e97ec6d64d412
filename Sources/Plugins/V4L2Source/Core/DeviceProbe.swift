import PluginAPI

/// What one V4L2 node said about itself (VIDIOC_QUERYCAP, ENUM_FMT, ENUM_FRAMESIZES,
/// ENUM_FRAMEINTERVALS, G_FMT). A value: capabilities and capture inputs derive from it.
public struct DeviceProbe: Sendable, Equatable {
    public struct Size: Sendable, Equatable {
        public var width: Int
        public var height: Int
        /// Frame rates offered at this size, exactly (V4L2 frame intervals), fastest first.
        public var rates: [FrameRate]
        public init(width: Int, height: Int, rates: [FrameRate]) {
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
        var rates: [FrameRate] = []
        for f in formats {
            for s in f.sizes {
                if !sizes.contains(where: { $0 == (s.width, s.height) }) { sizes.append((s.width, s.height)) }
                for r in s.rates where !rates.contains(r) { rates.append(r) }
            }
        }
        sizes.sort { $0.0 * $0.1 > $1.0 * $1.1 }
        var flags: [String] = []
        if deviceCaps & DeviceProbe.capVideoCapture != 0 { flags.append("video_capture") }
        if deviceCaps & DeviceProbe.capStreaming != 0 { flags.append("streaming") }
        return CameraCapabilities(formats: formats.map(\.fourcc), resolutions: sizes.map { "\($0.0)x\($0.1)" },
                                  frameRates: rates.sorted { $0.value > $1.value }, capabilities: flags, validationStatus: .confirmed)
    }

    /// The default mode: the current format's size at its best rate, preferring a compressed
    /// format (MJPG keeps USB bandwidth low) when it offers that size.
    public var defaultMode: (fourcc: String, width: Int, height: Int, rate: FrameRate)? {
        guard let first = formats.first, let firstSize = first.sizes.first else { return nil }
        let width = current?.width ?? firstSize.width, height = current?.height ?? firstSize.height
        let candidates = formats.sorted { $0.compressed && !$1.compressed }
        for f in candidates {
            if let s = f.sizes.first(where: { $0.width == width && $0.height == height }) {
                return (f.fourcc, width, height, s.rates.first ?? FrameRate(fps: 30))
            }
        }
        return (first.fourcc, firstSize.width, firstSize.height, firstSize.rates.first ?? FrameRate(fps: 30))
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

    /// How FFmpeg reads this camera at its default mode. A V4L2 device has one reader at a time.
    public func captureInput(path: String) -> CaptureInput? {
        guard let m = defaultMode else { return nil }
        let format = DeviceProbe.ffmpegInputFormat(m.fourcc)
        let codec: VideoCodec = format == "mjpeg" ? .mjpeg : (format == "h264" ? .h264 : .raw)
        return CaptureInput(ffmpegArguments: ["-f", "v4l2", "-input_format", format, "-video_size", "\(m.width)x\(m.height)",
                                              "-framerate", m.rate.ffmpegRational, "-i", path],
                            resolution: "\(m.width)x\(m.height)", frameRate: m.rate, codec: codec,
                            pixelFormat: codec == .raw ? format : "", exclusive: true)
    }
}
