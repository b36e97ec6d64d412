import PluginAPI

/// `start_streaming`, `stop_streaming`, `get_stream_url`, `get_stream_status`, `get_streams`,
/// answered through the ``MediaBackend`` (`-32030` without one).
struct StreamingMethods {
    let cameras: CameraDirectory
    let capabilities: CapabilityAccess

    func register(_ r: OwnedRegistry) throws {
        let lookup = CameraLookup(cameras: cameras)
        try r.register(MethodDescriptor("start_streaming", role: .operator, summary: "Publishes a camera through the media server; answers once it is ready.",
                                        params: [DeviceParam.descriptor])) { [capabilities] call in
            let (cam, _) = try lookup.connected(call)
            let backend = try capabilities.mediaBackend()
            let state = try await backend.startStream(device: cam.device)
            let urls = backend.streamURLs(for: cam.device, clientHost: call.origin.requestHost)
            return .object(["device": .string(cam.device), "stream_name": .string(state.name), "stream_url": .string(urls.rtsp),
                            "status": "STARTED", "start_time": TimeJSON.rfc3339(state.startTime),
                            "auto_close_after": state.closesAfter.map(TimeJSON.seconds) ?? .null,
                            "streams": .object(StreamingMethods.urlsJSON(urls))])
        }

        try r.register(MethodDescriptor("stop_streaming", role: .operator, summary: "Stops publishing a camera, unless a recording still reads it.",
                                        params: [DeviceParam.descriptor])) { [capabilities] call in
            let (cam, _) = try lookup.camera(call)
            let backend = try capabilities.mediaBackend()
            let before = try? await backend.streamState(device: cam.device)
            let outcome = try await backend.stopStream(device: cam.device)
            let end = HostClock.now()
            let start = before?.startTime
            return .object(["device": .string(cam.device), "stream_name": .string(outcome.state.name),
                            "status": .string(outcome.stillPublishing ? "ACTIVE" : "STOPPED"), "still_publishing": .bool(outcome.stillPublishing),
                            "message": .string(outcome.message), "start_time": TimeJSON.rfc3339(start), "end_time": TimeJSON.rfc3339(end),
                            "duration": start.map { TimeJSON.seconds(end - $0) } ?? .null])
        }

        try r.register(MethodDescriptor("get_stream_url", role: .viewer, summary: "A camera's stream URLs and whether they can be played now.",
                                        params: [DeviceParam.descriptor])) { [capabilities] call in
            let (cam, _) = try lookup.camera(call)
            let backend = try capabilities.mediaBackend()
            let state = try await backend.streamState(device: cam.device)
            let urls = backend.streamURLs(for: cam.device, clientHost: call.origin.requestHost)
            return .object(["device": .string(cam.device), "stream_name": .string(state.name), "stream_url": .string(urls.rtsp),
                            "available": .bool(cam.status == .connected && state.status != .error), "ready": .bool(state.ready),
                            "active_consumers": .int(state.viewers), "stream_status": .string(state.status.rawValue),
                            "streams": .object(StreamingMethods.urlsJSON(urls))])
        }

        try r.register(MethodDescriptor("get_stream_status", role: .viewer, summary: "A camera's stream state with figures from the media server.",
                                        params: [DeviceParam.descriptor])) { [capabilities] call in
            let (cam, _) = try lookup.camera(call)
            let backend = try capabilities.mediaBackend()
            let state = try await backend.streamState(device: cam.device)
            var o = StreamingMethods.stateJSON(state)
            o["stream_url"] = .string(backend.streamURLs(for: cam.device, clientHost: call.origin.requestHost).rtsp)
            return .object(o)
        }

        try r.register(MethodDescriptor("get_streams", role: .viewer, summary: "Every published stream.")) { [capabilities] _ in
            let backend = try capabilities.mediaBackend()
            let all = try await backend.streams()
            let active = all.filter { $0.status == .active }.count
            return .object(["streams": .array(all.map { s in
                .object(["name": .string(s.name), "device": .string(s.device), "status": .string(s.status.rawValue), "source": .string(s.source),
                         "ready": .bool(s.ready), "viewers": .int(s.viewers), "bytes_sent": .int(s.bytesSent), "start_time": TimeJSON.rfc3339(s.startTime)])
            }), "total": .int(all.count), "active": .int(active), "inactive": .int(all.count - active)])
        }
    }

    static func urlsJSON(_ u: StreamURLs) -> JSONObject { ["rtsp": .string(u.rtsp), "webrtc": .string(u.webrtc), "hls": .string(u.hls)] }

    static func stateJSON(_ s: StreamState) -> JSONObject {
        var o: JSONObject = ["device": .string(s.device), "stream_name": .string(s.name), "status": .string(s.status.rawValue),
                             "ready": .bool(s.ready), "viewers": .int(s.viewers), "bytes_sent": .int(s.bytesSent),
                             "start_time": TimeJSON.rfc3339(s.startTime), "last_activity": TimeJSON.rfc3339(s.lastActivity), "source": .string(s.source)]
        if !s.detail.isEmpty { o["detail"] = .string(s.detail) }
        return o
    }
}
