import PluginAPI
import Synchronization

@_cdecl("swiftplugin_api_version") public func swiftpluginAPIVersion() -> UInt32 { pluginAPIVersion }
@_cdecl("swiftplugin_create") public func swiftpluginCreate() -> UnsafeMutableRawPointer { exportPlugin(TestPatternSourcePlugin()) }

/// Virtual cameras whose frames come from FFmpeg's `lavfi` test sources, so snapshots,
/// recordings and streams can be tried with no hardware.
///
/// Config: `prefix` (default `test`), `cameras`: a list of `{name, resolution, fps, pattern}`;
/// camera ids are `<prefix>_<name>`.
final class TestPatternSourcePlugin: Plugin {
    let info = PluginInfo(name: "test_pattern_source", version: "1.0.0", summary: "virtual test-pattern cameras (FFmpeg lavfi)")

    func check(_ context: any PluginContext) async throws { _ = try TestPatternSourcePlugin.cameras(context.config) }

    /// The configured cameras (two by default).
    static func cameras(_ c: JSONObject) throws -> [TestCamera] {
        try c.rejectUnknownKeys(allowed: ["prefix", "cameras"])
        let prefix = try c.configString("prefix", default: "test")
        var specs: [TestCamera] = []
        let list = c["cameras"]?.arrayValue ?? [
            ["name": "cam0", "resolution": "1280x720", "fps": 30, "pattern": "testsrc2"],
            ["name": "cam1", "resolution": "640x480", "fps": 15, "pattern": "smptebars"],
        ]
        for (i, item) in list.enumerated() {
            guard let o = item.objectValue else { throw PluginConfigError(key: "cameras[\(i)]", problem: "expected a mapping") }
            specs.append(try TestCamera(o, prefix: prefix, index: i))
        }
        let ids = specs.map(\.device)
        if Set(ids).count != ids.count { throw PluginConfigError(key: "cameras", problem: "camera names must be unique") }
        return specs
    }

    func activate(_ context: any PluginContext) async throws -> PluginCapabilities {
        let specs = try TestPatternSourcePlugin.cameras(context.config)
        let ids = specs.map(\.device)
        context.logger.info("\(specs.count) test-pattern camera(s): \(ids.joined(separator: ", "))")
        let listed: JSONValue = .array(specs.map { .object(["device": .string($0.device), "pattern": .string($0.pattern),
                                                            "ffmpeg_input": .array($0.input.ffmpegArguments.map(JSONValue.string))]) })
        try context.methods.registerInline(MethodDescriptor("test_pattern.list", role: .viewer,
                                                            summary: "The virtual cameras and the FFmpeg input each one reads.")) { _ in listed }
        return PluginCapabilities(cameraSources: [TestPatternSource(cameras: specs)])
    }

    func shutdown() async {}
}

/// One configured virtual camera.
struct TestCamera: Sendable {
    static let patterns = ["testsrc", "testsrc2", "smptebars", "smptehdbars", "rgbtestsrc", "yuvtestsrc", "mandelbrot", "life"]
    let device: String
    let name: String
    let width: Int
    let height: Int
    let fps: Int
    let pattern: String

    init(_ o: JSONObject, prefix: String, index: Int) throws(PluginConfigError) {
        let key = "cameras[\(index)]"
        try o.rejectUnknownKeys(allowed: ["name", "resolution", "fps", "pattern"])
        name = try o.configString("name", default: "cam\(index)")
        device = "\(prefix)_\(name)"
        guard Identifier.isValid(device) else {
            throw PluginConfigError(key: "\(key).name", problem: "'\(device)' is not a valid camera id (^[a-z][a-z0-9_]{0,63}$)")
        }
        let resolution = try o.configString("resolution", default: "1280x720")
        let dims = resolution.split(separator: "x").compactMap { Int($0) }
        guard dims.count == 2, (16...7680).contains(dims[0]), (16...4320).contains(dims[1]) else {
            throw PluginConfigError(key: "\(key).resolution", problem: "expected WIDTHxHEIGHT, got '\(resolution)'")
        }
        width = dims[0]
        height = dims[1]
        fps = try o.configInt("fps", default: 30, range: 1...120)
        pattern = try o.configString("pattern", default: "testsrc2")
        guard TestCamera.patterns.contains(pattern) else {
            throw PluginConfigError(key: "\(key).pattern", problem: "expected one of \(TestCamera.patterns.joined(separator: ", "))")
        }
    }

    var info: CameraInfo {
        CameraInfo(device: device, status: .connected, name: "Test pattern \(name) (\(pattern))", resolution: "\(width)x\(height)", frameRate: FrameRate(fps: fps),
                   driver: "lavfi", busInfo: "virtual", stableID: "lavfi:\(device)")
    }

    /// Real-time (`-re`) lavfi input at the configured size and rate: raw frames, and any
    /// number of readers (each gets its own generator).
    var input: CaptureInput {
        let source = "\(pattern)=size=\(width)x\(height):rate=\(fps)"
        return CaptureInput(ffmpegArguments: ["-re", "-f", "lavfi", "-i", source], resolution: "\(width)x\(height)", frameRate: FrameRate(fps: fps),
                            codec: .raw, pixelFormat: "", exclusive: false)
    }
}

/// The ``CameraSource``: a fixed set of always-connected cameras.
final class TestPatternSource: CameraSource {
    let sourceName = "test_pattern"
    let cameras: [TestCamera]
    /// A fixed set: nothing to discover.
    var isDiscovering: Bool { false }
    var maxCameras: Int? { cameras.count }
    init(cameras: [TestCamera]) { self.cameras = cameras }

    func start(_ sink: any CameraEventSink) async throws {}
    func cameras() async -> [CameraInfo] { cameras.map(\.info) }

    func capabilities(of device: String) async throws -> CameraCapabilities {
        let cam = try find(device)
        return CameraCapabilities(formats: ["YUV420P"], resolutions: ["\(cam.width)x\(cam.height)"], frameRates: [FrameRate(fps: cam.fps)],
                                  capabilities: ["video_capture", "virtual"], validationStatus: .confirmed)
    }

    func captureInput(for device: String) async throws -> CaptureInput { try find(device).input }

    func stop() async {}

    func find(_ device: String) throws -> TestCamera {
        guard let c = cameras.first(where: { $0.device == device }) else { throw RPCError.notFound(resource: "camera", id: device) }
        return c
    }
}
