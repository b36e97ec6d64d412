import PluginAPI

/// `get_camera_list`, `get_camera_status`, `get_camera_capabilities` over the merged camera
/// list of every camera source plugin.
enum CameraMethods {
    static func register(_ r: OwnedRegistry, _ h: HostServices) throws {
        try r.registerInline(MethodDescriptor("get_camera_list", role: .viewer, summary: "All cameras of every camera source.")) { _ in
            guard !h.capabilities.cameraSources.isEmpty else { throw Feature.unsupported("camera_source", plugin: "v4l2_source") }
            let cams = h.cameras.list()
            return .object(["cameras": .array(cams.map { .object(CameraJSON.camera($0, urls: h.streamURLs($0.device))) }),
                            "total": .int(cams.count), "connected": .int(cams.filter { $0.status == .connected }.count)])
        }

        try r.register(MethodDescriptor("get_camera_status", role: .viewer, summary: "One camera with capabilities and stream metrics.",
                                        params: [DeviceParam.descriptor])) { call in
            let (cam, source) = try lookup(call, h)
            var o = CameraJSON.camera(cam, urls: h.streamURLs(cam.device))
            if let caps = try? await source.capabilities(of: cam.device) {
                o["capabilities"] = .object(CameraJSON.capabilities(cam.device, caps))
            }
            var metrics: JSONObject = ["bytes_sent": 0, "readers": 0, "uptime": 0]
            if let backend = h.capabilities.mediaBackend?.backend, let s = try? await backend.streamState(device: cam.device) {
                metrics["bytes_sent"] = .int(s.bytesSent)
                metrics["readers"] = .int(s.viewers)
                metrics["uptime"] = .int(s.startTime.map { Int(Clock.now() - $0) } ?? 0)
            }
            o["metrics"] = .object(metrics)
            return .object(o)
        }

        try r.register(MethodDescriptor("get_camera_capabilities", role: .viewer, summary: "Formats, sizes and frame rates of one camera.",
                                        params: [DeviceParam.descriptor])) { call in
            let (cam, source) = try lookup(call, h)
            if cam.status == .disconnected {
                return .object(CameraJSON.capabilities(cam.device, CameraCapabilities(formats: [], resolutions: [], fpsOptions: [], frameRates: [],
                                                                                      capabilities: [], validationStatus: "disconnected")))
            }
            return .object(CameraJSON.capabilities(cam.device, try await source.capabilities(of: cam.device)))
        }
    }

    /// The camera named by `device`: `-32030` without camera sources, `-32010` when unknown.
    static func lookup(_ call: RPCCall, _ h: HostServices) throws -> (CameraInfo, any CameraSource) {
        guard !h.capabilities.cameraSources.isEmpty else { throw Feature.unsupported("camera_source", plugin: "v4l2_source") }
        let device = try call.params.requireString("device")
        guard let cam = h.cameras.camera(device), let source = h.cameras.source(of: device) else {
            throw RPCError.notFound(resource: "camera", id: device)
        }
        return (cam, source)
    }
}
