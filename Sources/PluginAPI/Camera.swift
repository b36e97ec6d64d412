/// Whether a camera can be used.
@frozen
public enum CameraStatus: String, Sendable {
    case connected = "CONNECTED"
    case disconnected = "DISCONNECTED"
    case error = "ERROR"
}

/// A camera as a camera source describes it. Clients see `device`, never device paths.
public struct CameraInfo: Sendable, Equatable {
    /// The public identifier: `camera<N>` for V4L2 `/dev/video<N>`, else `<prefix>_<name>`.
    public var device: String
    /// Current status.
    public var status: CameraStatus
    /// Human-readable name (the V4L2 card name, or a configured name).
    public var name: String
    /// Current or default resolution, `WIDTHxHEIGHT`.
    public var resolution: String
    /// Current or default frame rate.
    public var fps: Int
    /// The driver, e.g. `uvcvideo` or `lavfi`.
    public var driver: String
    /// Where the device sits (V4L2 bus info, USB port), empty when unknown.
    public var busInfo: String
    /// An identity that survives re-plugging (e.g. USB serial), empty when unknown.
    public var stableID: String
    /// Why the camera is in ERROR, empty otherwise.
    public var errorMessage: String

    public init(device: String, status: CameraStatus, name: String, resolution: String, fps: Int,
                driver: String = "", busInfo: String = "", stableID: String = "", errorMessage: String = "") {
        self.device = device
        self.status = status
        self.name = name
        self.resolution = resolution
        self.fps = fps
        self.driver = driver
        self.busInfo = busInfo
        self.stableID = stableID
        self.errorMessage = errorMessage
    }
}

/// What a camera can deliver.
public struct CameraCapabilities: Sendable, Equatable {
    /// Pixel formats by FourCC name, e.g. `YUYV`, `MJPG`.
    public var formats: [String]
    /// Frame sizes, `WIDTHxHEIGHT`, largest first.
    public var resolutions: [String]
    /// Whole frame rates offered.
    public var fpsOptions: [Int]
    /// Exact frame rates as text (`30`, `7.5`).
    public var frameRates: [String]
    /// Capability flags, e.g. `video_capture`, `streaming`.
    public var capabilities: [String]
    /// `confirmed` (probed), `provisional` (assumed) or `disconnected`.
    public var validationStatus: String

    public init(formats: [String], resolutions: [String], fpsOptions: [Int], frameRates: [String],
                capabilities: [String], validationStatus: String) {
        self.formats = formats
        self.resolutions = resolutions
        self.fpsOptions = fpsOptions
        self.frameRates = frameRates
        self.capabilities = capabilities
        self.validationStatus = validationStatus
    }
}

/// How to read frames from a camera: the FFmpeg input arguments (everything up to and
/// including `-i …`), so capture and media plugins need no per-source special case.
public struct CaptureInput: Sendable, Equatable {
    /// E.g. `["-f", "v4l2", "-input_format", "mjpeg", "-i", "/dev/video0"]` or
    /// `["-re", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30"]`.
    public var ffmpegArguments: [String]
    /// The resolution the input delivers, `WIDTHxHEIGHT`.
    public var resolution: String
    /// The frame rate the input delivers.
    public var fps: Int

    public init(ffmpegArguments: [String], resolution: String, fps: Int) {
        self.ffmpegArguments = ffmpegArguments
        self.resolution = resolution
        self.fps = fps
    }
}

/// How a camera changed, as reported to a ``CameraEventSink``.
@frozen
public enum CameraChange: Sendable {
    case connected, disconnected, statusChanged, capabilitiesDetected
}

/// Receives camera changes from a ``CameraSource`` (the host turns them into events).
public protocol CameraEventSink: AnyObject, Sendable {
    /// `camera` changed in the way `change` says; call it promptly after the kernel event.
    func cameraChanged(_ camera: CameraInfo, change: CameraChange)
}

/// A capability: a source of cameras (V4L2 devices, virtual test cameras, …). Several may be
/// loaded; the host merges their cameras into one list.
public protocol CameraSource: AnyObject, Sendable {
    /// A short name for logs and status (`v4l2`, `test_pattern`).
    var sourceName: String { get }
    /// Starts discovery; changes are reported to `sink` until ``stop()``.
    func start(_ sink: any CameraEventSink) async throws
    /// The cameras known now.
    func cameras() async -> [CameraInfo]
    /// What `device` can deliver; throws `-32010` for a camera this source does not have.
    func capabilities(of device: String) async throws -> CameraCapabilities
    /// How to read frames from `device`.
    func captureInput(for device: String) async throws -> CaptureInput
    /// Stops discovery and releases devices.
    func stop() async
}
