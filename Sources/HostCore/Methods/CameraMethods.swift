import PluginAPI

/// `get_camera_list`, `get_camera_status`, `get_camera_capabilities` over the merged camera
/// list of every camera source plugin.
struct CameraMethods {
    let cameras: CameraDirectory
    let capabilities: CapabilityAccess
    /// The recording in progress on a camera (listed with it, so a client that connects
    /// mid-recording sees it).
    let activeRecording: @Sendable (String) -> RecordingState?
    /// How long a reply waits for figures a capability adds (stream metrics), seconds.
    static let figuresWait = 1.0

    /// The camera as listed to a client: its stream URLs for that client and its recording.
    func listed(_ cam: CameraInfo, _ call: RPCCall) -> JSONObject {
        var o = CameraJSON.camera(cam, urls: urls(cam.device, call))
        o["recording"] = activeRecording(cam.device).map { r in
            .object(["filename": .string(r.filename), "start_time": .string(HostClock.rfc3339(r.startTime)), "format": .string(r.format.rawValue),
                     "duration": r.durationLimit.map(JSONValue.int) ?? .null])
        } ?? .null
        return o
    }

    /// A camera's stream URLs as the calling client can use them (nil without a media backend).
    func urls(_ device: String, _ call: RPCCall) -> StreamURLs? {
        capabilities.current.mediaBackend?.backend.streamURLs(for: device, clientHost: call.origin.requestHost)
    }

    func register(_ r: OwnedRegistry) throws {
        let lookup = CameraLookup(cameras: cameras)
        try r.registerInline(MethodDescriptor("get_camera_list", role: .viewer, summary: "All cameras of every camera source.")) { [cameras] call in
            guard !cameras.sources.isEmpty else { throw Feature.unsupported("camera_source", plugin: "v4l2_source") }
            let cams = cameras.list()
            return .object(["cameras": .array(cams.map { .object(listed($0, call)) }),
                            "total": .int(cams.count), "connected": .int(cams.filter { $0.status == .connected }.count)])
        }

        try r.register(MethodDescriptor("get_camera_status", role: .viewer, summary: "One camera with capabilities and, with a media backend, stream metrics.",
                                        params: [DeviceParam.descriptor])) { [capabilities] call in
            let (cam, source) = try lookup.camera(call)
            var o = listed(cam, call)
            if let caps = try? await source.capabilities(of: cam.device) {
                o["capabilities"] = .object(CameraJSON.capabilities(cam.device, cam.status == .disconnected ? .disconnected : caps))
            }
            // Stream figures come from the media backend; without one, or while it does not
            // answer within a second, there are none to report.
            if let backend = capabilities.current.mediaBackend?.backend,
               let s = await within(CameraMethods.figuresWait, { try await backend.streamState(device: cam.device) }) {
                o["metrics"] = .object(["bytes_sent": .int(s.bytesSent), "readers": .int(s.viewers),
                                        "uptime": s.startTime.map { .int(Int(max(0, HostClock.now() - $0))) } ?? .int(0)])
            }
            return .object(o)
        }

        try r.register(MethodDescriptor("get_camera_capabilities", role: .viewer, summary: "Formats, sizes and frame rates of one camera.",
                                        params: [DeviceParam.descriptor])) { call in
            let (cam, source) = try lookup.camera(call)
            if cam.status == .disconnected { return .object(CameraJSON.capabilities(cam.device, .disconnected)) }
            return .object(CameraJSON.capabilities(cam.device, try await source.capabilities(of: cam.device)))
        }
    }
}
