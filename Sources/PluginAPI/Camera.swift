/// Whether a camera can be used.
@frozen
public enum CameraStatus: String, Sendable {
    /// `CONNECTED`: present and usable.
    case connected = "CONNECTED"
    /// `DISCONNECTED`: unplugged; it stays listed.
    case disconnected = "DISCONNECTED"
    /// `ERROR`: present but not usable (it stopped answering or failed to open; see ``CameraInfo/errorMessage``).
    case error = "ERROR"
}

/// An exact frame rate, `numerator / denominator` frames per second (V4L2 reports intervals
/// as fractions: 7.5 fps is 15/2, NTSC's 29.97 is 30000/1001).
public struct FrameRate: Sendable, Hashable, CustomStringConvertible {
    /// Frames…
    public let numerator: Int
    /// …per this many seconds (never zero).
    public let denominator: Int

    /// `numerator/denominator` fps, reduced; nil for a zero or negative part.
    public init?(_ numerator: Int, _ denominator: Int = 1) {
        guard numerator > 0, denominator > 0 else { return nil }
        var a = numerator, b = denominator
        while b != 0 { (a, b) = (b, a % b) }
        self.numerator = numerator / a
        self.denominator = denominator / a
    }

    /// A whole number of frames per second (at least 1).
    public init(fps: Int) {
        numerator = max(1, fps)
        denominator = 1
    }

    /// The rate as a number (7.5).
    public var value: Double { Double(numerator) / Double(denominator) }
    /// The rate rounded to whole frames per second, for fields the contract types as integers.
    public var roundedFPS: Int { Int(value.rounded()) }
    /// Whether it is a whole number of frames per second.
    public var isWhole: Bool { denominator == 1 }
    /// `30`, `7.5`, `29.97` — the text `frame_rates` lists (at most two decimals).
    public var description: String {
        if isWhole { return String(numerator) }
        let hundredths = (value * 100).rounded()
        let whole = Int(hundredths) / 100, frac = Int(hundredths) % 100
        return frac % 10 == 0 ? "\(whole).\(frac / 10)" : "\(whole).\(frac < 10 ? "0" : "")\(frac)"
    }
    /// FFmpeg's rational syntax, `15/2`.
    public var ffmpegRational: String { isWhole ? String(numerator) : "\(numerator)/\(denominator)" }
}

/// A camera as a camera source describes it. Clients see `device`, never device paths.
public struct CameraInfo: Sendable, Equatable {
    /// The public identifier: `camera<N>` for V4L2 `/dev/video<N>`, else `<prefix>_<name>`.
    public var device: String
    /// Current status.
    public var status: CameraStatus
    /// Human-readable name (the V4L2 card name, or a configured name).
    public var name: String
    /// Current or default resolution, `WIDTHxHEIGHT`; empty when unknown.
    public var resolution: String
    /// Current or default frame rate; nil when unknown.
    public var frameRate: FrameRate?
    /// The driver, e.g. `uvcvideo` or `lavfi`.
    public var driver: String
    /// Where the device sits (V4L2 bus info, USB port), empty when unknown.
    public var busInfo: String
    /// An identity that survives re-plugging (e.g. USB serial), empty when unknown.
    public var stableID: String
    /// Why the camera is in ERROR, empty otherwise.
    public var errorMessage: String

    /// A camera; `driver`, `busInfo`, `stableID` and `errorMessage` default to empty (unknown, or no error).
    public init(device: String, status: CameraStatus, name: String, resolution: String, frameRate: FrameRate?,
                driver: String = "", busInfo: String = "", stableID: String = "", errorMessage: String = "") {
        self.device = device
        self.status = status
        self.name = name
        self.resolution = resolution
        self.frameRate = frameRate
        self.driver = driver
        self.busInfo = busInfo
        self.stableID = stableID
        self.errorMessage = errorMessage
    }
}

/// How sure a source is of a camera's capabilities, as the contract spells it.
public struct ValidationStatus: Sendable, Hashable, RawRepresentable, CustomStringConvertible {
    enum Value: String, Sendable { case confirmed, provisional, disconnected }
    let value: Value
    init(_ value: Value) { self.value = value }
    /// Parses the contract's spelling (`confirmed`, `provisional`, `disconnected`); nil for anything else.
    public init?(rawValue: String) {
        guard let v = Value(rawValue: rawValue) else { return nil }
        value = v
    }
    /// The contract's spelling, as `validation_status` carries it.
    public var rawValue: String { value.rawValue }
    /// The same as ``rawValue``.
    public var description: String { rawValue }
    /// Probed from the device.
    public static let confirmed = ValidationStatus(.confirmed)
    /// Assumed (the device has not answered yet, or the source cannot probe).
    public static let provisional = ValidationStatus(.provisional)
    /// The camera is unplugged; the lists are empty.
    public static let disconnected = ValidationStatus(.disconnected)
}

/// What a camera can deliver.
public struct CameraCapabilities: Sendable, Equatable {
    /// Pixel formats by FourCC name, e.g. `YUYV`, `MJPG`.
    public var formats: [String]
    /// Frame sizes, `WIDTHxHEIGHT`, largest first.
    public var resolutions: [String]
    /// Every frame rate offered, exactly, fastest first.
    public var frameRates: [FrameRate]
    /// Capability flags, e.g. `video_capture`, `streaming`.
    public var capabilities: [String]
    /// How sure the source is.
    public var validationStatus: ValidationStatus

    /// Capabilities, field by field (see ``disconnected`` for the empty set).
    public init(formats: [String], resolutions: [String], frameRates: [FrameRate], capabilities: [String],
                validationStatus: ValidationStatus) {
        self.formats = formats
        self.resolutions = resolutions
        self.frameRates = frameRates
        self.capabilities = capabilities
        self.validationStatus = validationStatus
    }

    /// Nothing known (an unplugged camera).
    public static var disconnected: CameraCapabilities {
        CameraCapabilities(formats: [], resolutions: [], frameRates: [], capabilities: [], validationStatus: .disconnected)
    }
}

/// What a capture input delivers: raw frames, or an already compressed stream that can be
/// stored or published without re-encoding.
public struct VideoCodec: Sendable, Hashable, RawRepresentable, CustomStringConvertible {
    enum Value: String, Sendable { case raw, mjpeg, h264, hevc }
    let value: Value
    init(_ value: Value) { self.value = value }
    /// Parses a codec name (`raw`, `mjpeg`, `h264`, `hevc`); nil for anything else.
    public init?(rawValue: String) {
        guard let v = Value(rawValue: rawValue) else { return nil }
        value = v
    }
    /// The codec's name: `raw`, `mjpeg`, `h264` or `hevc` (FFmpeg's names but for raw frames, which FFmpeg calls `rawvideo`).
    public var rawValue: String { value.rawValue }
    /// The same as ``rawValue``.
    public var description: String { rawValue }
    /// Uncompressed frames (YUYV, NV12, …; see ``CaptureInput/pixelFormat``).
    public static let raw = VideoCodec(.raw)
    /// Motion JPEG.
    public static let mjpeg = VideoCodec(.mjpeg)
    /// H.264 / AVC.
    public static let h264 = VideoCodec(.h264)
    /// H.265 / HEVC.
    public static let hevc = VideoCodec(.hevc)
}

/// How to read frames from a camera: the FFmpeg input arguments (everything up to and
/// including `-i …`) and what they deliver, so capture and media plugins need no per-source
/// special case.
public struct CaptureInput: Sendable, Equatable {
    /// E.g. `["-f", "v4l2", "-input_format", "mjpeg", "-i", "/dev/video0"]` or
    /// `["-re", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30"]`.
    public var ffmpegArguments: [String]
    /// The resolution the input delivers, `WIDTHxHEIGHT`.
    public var resolution: String
    /// The exact frame rate the input delivers.
    public var frameRate: FrameRate
    /// What the input delivers.
    public var codec: VideoCodec
    /// For raw input, FFmpeg's pixel format name (`yuyv422`, `nv12`, `yuv420p`); empty otherwise.
    public var pixelFormat: String
    /// Whether only one process at a time may read it (true for V4L2 devices): with a media
    /// backend publishing the camera, others must read the published stream instead.
    public var exclusive: Bool

    /// An input, field by field.
    public init(ffmpegArguments: [String], resolution: String, frameRate: FrameRate, codec: VideoCodec,
                pixelFormat: String, exclusive: Bool) {
        self.ffmpegArguments = ffmpegArguments
        self.resolution = resolution
        self.frameRate = frameRate
        self.codec = codec
        self.pixelFormat = pixelFormat
        self.exclusive = exclusive
    }

    /// Width and height parsed from ``resolution``; nil when it is not `WxH`.
    public var dimensions: (width: Int, height: Int)? {
        let parts = resolution.split(separator: "x")
        guard parts.count == 2, let w = Int(parts[0]), let h = Int(parts[1]), w > 0, h > 0 else { return nil }
        return (w, h)
    }
}

/// How a camera changed, as reported to a ``CameraEventSink``.
@frozen
public enum CameraChange: Sendable {
    /// A camera appeared (or came back after `disconnected`), its capabilities readable: `camera.connected`.
    case connected
    /// It went away; it stays listed as `DISCONNECTED`: `camera.disconnected`.
    case disconnected
    /// Its listing changed while it stayed (status, name, default mode): `camera.status_change`.
    case statusChanged
    /// What `capabilities(of:)` answers changed without a connect (e.g. a camera that was
    /// `ERROR` probed successfully): `camera.capability_detected`, after its status change.
    case capabilitiesDetected
}

/// Receives camera changes from a ``CameraSource`` (the host turns them into events and tells
/// the media backend and capture engine).
public protocol CameraEventSink: AnyObject, Sendable {
    /// `camera` changed in the way `change` says; call it promptly after the kernel event.
    func cameraChanged(_ camera: CameraInfo, change: CameraChange)
}

/// A capability: a source of cameras (V4L2 devices, virtual test cameras, …). Several may be
/// loaded; the host merges their cameras into one list.
public protocol CameraSource: AnyObject, Sendable {
    /// A short name for logs and status (`v4l2`, `test_pattern`).
    var sourceName: String { get }
    /// Whether the source is watching for cameras to come and go right now (a hot-plug
    /// monitor running); false for a fixed set of cameras.
    var isDiscovering: Bool { get }
    /// The most cameras this source can list at once (V4L2: the configured device range),
    /// nil when it has no bound.
    var maxCameras: Int? { get }
    /// Starts discovery; changes are reported to `sink` until ``stop()``.
    func start(_ sink: any CameraEventSink) async throws
    /// The cameras known now.
    func cameras() async -> [CameraInfo]
    /// What `device` can deliver; throws `-32010` for a camera this source does not have.
    func capabilities(of device: String) async throws -> CameraCapabilities
    /// How to read frames from `device`; throws `-32010` when it cannot be read now.
    func captureInput(for device: String) async throws -> CaptureInput
    /// Stops discovery and releases devices.
    func stop() async
}
