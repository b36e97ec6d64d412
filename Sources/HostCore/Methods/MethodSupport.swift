import PluginAPI
import Synchronization

/// Build facts reported by `--version` and `get_server_info`.
package enum BuildInfo {
    package static let name = "camera-service"
    package static let version = "0.2.0"
    package static var swiftVersion: String {
        #if compiler(>=6.3)
        return "6.3"
        #elseif compiler(>=6.2)
        return "6.2"
        #else
        return "6.x"
        #endif
    }
    package static var architecture: String {
        #if arch(x86_64)
        return "x86_64"
        #elseif arch(arm64)
        return "aarch64"
        #else
        return "unknown"
        #endif
    }
}

/// What the loaded plugins provide, for method families: each lookup is one lock and a copy,
/// and a missing capability is the contract's `-32030` naming it.
struct CapabilityAccess: Sendable {
    let plugins: PluginHost

    var current: Capabilities { plugins.capabilities }

    func mediaBackend() throws(RPCError) -> any MediaBackend {
        guard let b = current.mediaBackend?.backend else { throw Feature.unsupported("media_backend", plugin: "mediamtx_backend") }
        return b
    }
    func captureEngine() throws(RPCError) -> any CaptureEngine {
        guard let e = current.captureEngine?.engine else { throw Feature.unsupported("capture_engine", plugin: "ffmpeg_capture") }
        return e
    }
    func storage() throws(RPCError) -> any StorageProvider {
        guard let s = current.storageProvider?.provider else { throw Feature.unsupported("storage_provider", plugin: "file_store") }
        return s
    }
}

/// Whether the server accepts connections, and since when it runs.
final class ServerState: Sendable {
    private let ready = Atomic<Bool>(false)
    private let stopping = Atomic<Bool>(false)
    private let port = Atomic<Int>(0)
    let startedMonotonic = HostClock.monotonic()
    let host: String

    init(host: String) { self.host = host }

    var isReady: Bool { ready.load(ordering: .relaxed) }
    /// Shutdown has begun: not ready again.
    var isStopping: Bool { stopping.load(ordering: .relaxed) }
    var listeningPort: Int { port.load(ordering: .relaxed) }
    var uptime: Double { HostClock.monotonic() - startedMonotonic }

    func setReady(_ value: Bool, port listening: Int) {
        port.store(listening, ordering: .relaxed)
        ready.store(value, ordering: .relaxed)
    }

    /// Shutdown has begun (requests are still served while recordings end): not ready.
    func setStopping() {
        stopping.store(true, ordering: .relaxed)
        ready.store(false, ordering: .relaxed)
    }
}

/// The device parameter as the contract defines it.
enum DeviceParam {
    static let pattern = "^[a-z][a-z0-9_]{0,63}$"
    static let descriptor = ParamDescriptor("device", .string(pattern: pattern), required: true, summary: "camera id, e.g. camera0")
}

/// `filename` parameters: 1–255 characters with no `/`, `\`, `..`, NUL or control characters.
enum FilenameParam {
    static let descriptor = ParamDescriptor("filename", .string(minLength: 1, maxLength: 255), required: true, summary: "file name, no path")

    /// `-32602` (`rule: unsafe_name`) for a name that could leave the store or confuse a shell.
    static func check(_ name: String, param: String = "filename") throws(RPCError) {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, name.count <= 255 else {
            throw RPCError.invalidParams(param: param, rule: "max_length", detail: "'\(param)' must have 1 to 255 characters")
        }
        if bytes.contains(where: { $0 < 0x20 || $0 == 0x7F || $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "\\") }) || name.contains("..")
            || name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || $0.properties.generalCategory == .format }) {
            throw RPCError.invalidParams(param: param, rule: "unsafe_name",
                                         detail: "'\(param)' must be a plain file name: no '/', '\\', '..', NUL or control characters")
        }
    }
}

/// Which capability a method needs, for `-32030` when no plugin provides it.
enum Feature {
    static func unsupported(_ feature: String, plugin: String) -> RPCError {
        .unsupported(feature: feature, detail: "no enabled plugin provides \(feature) (e.g. \(plugin)); enable one in plugins.yaml")
    }
}

/// The camera a call names: `-32030` without camera sources, `-32010` when unknown.
struct CameraLookup: Sendable {
    let cameras: CameraDirectory

    func camera(_ call: RPCCall) throws -> (CameraInfo, any CameraSource) {
        guard !cameras.sources.isEmpty else { throw Feature.unsupported("camera_source", plugin: "v4l2_source") }
        let device = try call.params.requireString("device")
        guard let cam = cameras.camera(device), let source = cameras.source(of: device) else {
            throw RPCError.notFound(resource: "camera", id: device)
        }
        return (cam, source)
    }

    /// The camera, which must be connected to be captured or streamed (`-32020` otherwise).
    func connected(_ call: RPCCall) throws -> (CameraInfo, any CameraSource) {
        let (cam, source) = try camera(call)
        guard cam.status == .connected else {
            throw RPCError.invalidState(cam.status.rawValue, detail: "\(cam.device) is \(cam.status.rawValue.lowercased())\(cam.errorMessage.isEmpty ? "" : ": \(cam.errorMessage)")")
        }
        return (cam, source)
    }
}

/// Time as the contract writes it.
enum TimeJSON {
    static func rfc3339(_ t: Double?) -> JSONValue { t.map { .string(HostClock.rfc3339($0)) } ?? .null }
    static func seconds(_ s: Double) -> JSONValue { .double((s * 1000).rounded() / 1000) }
}
