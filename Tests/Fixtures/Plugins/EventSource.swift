// A test plugin that publishes events and changes a camera on request, so tests can drive the
// event bus and the camera list through the real plugin interfaces.
//   fixture.emit {topic, params, visible_to}       publishes one event (operator only)
//   fixture.set_camera {device, status}            reports a camera change (operator only)
//   fixture.fail, fixture.fail_async               throw a plain Swift error (a handler bug)
import PluginAPI
import Synchronization

@_cdecl("swiftplugin_api_version") public func apiVersion() -> UInt32 { pluginAPIVersion }
@_cdecl("swiftplugin_create") public func create() -> UnsafeMutableRawPointer { exportPlugin(EventSourcePlugin()) }

final class EventSourcePlugin: Plugin {
    let info = PluginInfo(name: "fixture_events", version: "0", summary: "test fixture")
    let source = FixtureCameras()

    func activate(_ context: any PluginContext) async throws -> PluginCapabilities {
        let events = context.events
        try context.methods.registerInline(MethodDescriptor("fixture.emit", role: .operator, params: [
            ParamDescriptor("topic", .string(), required: true),
            ParamDescriptor("params", .object),
            ParamDescriptor("visible_to", .enumeration(["viewer", "operator", "admin"])),
            ParamDescriptor("count", .integer(minimum: 1, maximum: 100_000)),
        ])) { call in
            let topic = call.params.string("topic") ?? ""
            let params = call.params["params"]?.objectValue ?? [:]
            let role = Role(name: call.params.string("visible_to") ?? "viewer") ?? .viewer
            for _ in 0..<(call.params.int("count") ?? 1) { events.publish(Event(topic: topic, params: params, visibleTo: role)) }
            return true
        }
        let source = self.source
        try context.methods.registerInline(MethodDescriptor("fixture.set_camera", role: .operator, params: [
            ParamDescriptor("device", .string(), required: true),
            ParamDescriptor("status", .enumeration(["CONNECTED", "DISCONNECTED", "ERROR"]), required: true),
        ])) { call in
            source.set(call.params.string("device") ?? "", status: CameraStatus(rawValue: call.params.string("status") ?? "") ?? .error)
            return true
        }
        // A handler bug, inline and after a suspension: not an RPCError, so the host must answer
        // -32603 without the error's own text.
        try context.methods.registerInline(MethodDescriptor("fixture.fail", role: nil)) { _ in throw FixtureBug() }
        try context.methods.register(MethodDescriptor("fixture.fail_async", role: nil)) { _ in
            try await Task.sleep(for: .milliseconds(10))
            throw FixtureBug()
        }
        return PluginCapabilities(cameraSources: [source])
    }

    func shutdown() async {}
}

final class FixtureCameras: CameraSource {
    let sourceName = "fixture"
    var isDiscovering: Bool { true }
    var maxCameras: Int? { nil }
    private let state = Mutex<(sink: (any CameraEventSink)?, cameras: [String: CameraInfo])>((nil, [:]))

    func start(_ sink: any CameraEventSink) async throws { state.withLock { $0.sink = sink } }
    func cameras() async -> [CameraInfo] { state.withLock { Array($0.cameras.values) } }
    func capabilities(of device: String) async throws -> CameraCapabilities {
        CameraCapabilities(formats: ["YUYV"], resolutions: ["640x480"], frameRates: [FrameRate(fps: 30)], capabilities: [], validationStatus: .confirmed)
    }
    func captureInput(for device: String) async throws -> CaptureInput { throw RPCError.unsupported(feature: "capture") }
    func stop() async {}

    func set(_ device: String, status: CameraStatus) {
        let (sink, change, info) = state.withLock { s -> ((any CameraEventSink)?, CameraChange, CameraInfo) in
            let existed = s.cameras[device] != nil
            let info = CameraInfo(device: device, status: status, name: "Fixture \(device)", resolution: "640x480", frameRate: FrameRate(fps: 30))
            let change: CameraChange = status == .disconnected ? .disconnected : (existed ? .statusChanged : .connected)
            s.cameras[device] = info
            return (s.sink, change, info)
        }
        sink?.cameraChanged(info, change: change)
    }
}

struct FixtureBug: Error, CustomStringConvertible {
    var description: String { "fixture bug: index out of range (internal-detail-7f3a)" }
}
