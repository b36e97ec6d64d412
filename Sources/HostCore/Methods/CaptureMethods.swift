import Glibc
import PluginAPI

/// `take_snapshot`, `start_recording`, `stop_recording`, answered through the
/// ``CaptureEngine``, writing where the ``StorageProvider`` says. The host hands the engine
/// the camera's direct input and, with a media backend, its stream; which to use (the tier)
/// is the engine's policy.
struct CaptureMethods {
    let cameras: CameraDirectory
    let capabilities: CapabilityAccess
    let events: EventBus

    func register(_ r: OwnedRegistry) throws {
        let lookup = CameraLookup(cameras: cameras)
        try r.register(MethodDescriptor("take_snapshot", role: .operator, summary: "Captures one image.", params: [
            DeviceParam.descriptor,
            ParamDescriptor("filename", .string(minLength: 1, maxLength: 255), summary: "file name (the format's extension is added)"),
            ParamDescriptor("format", .enumeration(["jpg", "png"]), summary: "image format, default jpg"),
            ParamDescriptor("quality", .integer(minimum: 1, maximum: 100), summary: "JPEG quality"),
        ])) { [capabilities, events] call in
            let (cam, source) = try lookup.camera(call)  // an unknown camera is -32010 before anything else
            do {
                let engine = try capabilities.captureEngine()
                let storage = try capabilities.storage()
                _ = try lookup.connected(call)
                let format = call.params.string("format").flatMap(SnapshotFormat.init(rawValue:)) ?? .jpg
                let directory = try await storage.directory(for: .snapshots, device: cam.device)
                let filename = try CaptureMethods.snapshotName(call.params.string("filename"), device: cam.device, format: format, in: directory)
                let path = directory + "/" + filename
                let result = try await engine.takeSnapshot(SnapshotRequest(
                    device: cam.device, input: try? await source.captureInput(for: cam.device),
                    stream: capabilities.current.mediaBackend?.backend.streamSource(for: cam.device),
                    outputPath: path, format: format, quality: call.params.int("quality")))
                await storage.fileFinished(.snapshots, path: result.outputPath)
                let name = CaptureMethods.basename(result.outputPath)
                let stored = try? await storage.info(.snapshots, filename: name)
                events.publish(Event(topic: EventTopic.snapshotTaken, params: [
                    "device": .string(cam.device), "filename": .string(name), "format": .string(format.rawValue), "file_size": .int(result.fileSize),
                    "tier": .int(result.tier.rawValue), "frame_age_ms": .int(result.frameAgeMs)]))
                return .object(["device": .string(cam.device), "filename": .string(name), "status": "SUCCESS", "timestamp": .string(HostClock.rfc3339(HostClock.now())),
                                "file_size": .int(result.fileSize), "file_path": .string(result.outputPath), "format": .string(format.rawValue),
                                "resolution": .string(result.resolution), "tier": .int(result.tier.rawValue), "frame_age_ms": .int(result.frameAgeMs),
                                "download_url": stored?.downloadPath.map(JSONValue.string) ?? .null])
            } catch let e as RPCError {
                if e.code != -32030 && e.code != -32602 {
                    events.publish(Event(topic: EventTopic.snapshotError, params: [
                        "device": .string(cam.device), "code": .int(e.code), "message": .string(e.message),
                        "detail": e.data["detail"] ?? .string(e.data["reason"]?.stringValue ?? "")]))
                }
                throw e
            }
        }

        try r.register(MethodDescriptor("start_recording", role: .operator, summary: "Starts recording a camera in segments.", params: [
            DeviceParam.descriptor,
            ParamDescriptor("duration", .integer(minimum: 1, maximum: 86400), summary: "seconds; it then stops by itself"),
            ParamDescriptor("format", .enumeration(["fmp4", "mp4", "mkv"]), summary: "container, default from the capture engine's config"),
        ])) { [capabilities] call in
            let (cam, source) = try lookup.camera(call)
            let engine = try capabilities.captureEngine()
            let storage = try capabilities.storage()
            _ = try lookup.connected(call)
            let directory = try await storage.directory(for: .recordings, device: cam.device)
            let state = try await engine.startRecording(RecordingRequest(
                device: cam.device, input: try? await source.captureInput(for: cam.device),
                stream: capabilities.current.mediaBackend?.backend.streamSource(for: cam.device), directory: directory,
                format: call.params.string("format").flatMap(RecordingFormat.init(rawValue:)), durationSeconds: call.params.int("duration")))
            return .object(["device": .string(cam.device), "filename": .string(state.filename), "status": "RECORDING",
                            "start_time": .string(HostClock.rfc3339(state.startTime)), "format": .string(state.format.rawValue),
                            "duration": state.durationLimit.map(JSONValue.int) ?? .null])
        }

        try r.register(MethodDescriptor("stop_recording", role: .operator, summary: "Stops a camera's recording; answers once its files are complete.",
                                        params: [DeviceParam.descriptor])) { [capabilities] call in
            let (cam, _) = try lookup.camera(call)
            let engine = try capabilities.captureEngine()
            let state = try await engine.stopRecording(device: cam.device, cause: .requested)
            let end = state.endTime ?? HostClock.now()
            return .object(["device": .string(cam.device), "filename": .string(state.filename), "status": .string(state.status.rawValue),
                            "start_time": .string(HostClock.rfc3339(state.startTime)), "end_time": .string(HostClock.rfc3339(end)),
                            "duration": TimeJSON.seconds(end - state.startTime), "file_size": .int(state.bytesWritten),
                            "format": .string(state.format.rawValue), "files": .array(state.files.map(JSONValue.string))])
        }
    }

    /// The client's name validated, with the format's extension added unless it has it, or
    /// `<device>_<YYYY-MM-DD>_<HH-MM-SS>_<ms>.<ext>` (UTC). A client's name must not exist yet.
    static func snapshotName(_ requested: String?, device: String, format: SnapshotFormat, in directory: String) throws -> String {
        let ext = "." + format.rawValue
        if let requested {
            try FilenameParam.check(requested)
            let name = requested.lowercased().hasSuffix(ext) ? requested : requested + ext
            try FilenameParam.check(name)
            guard access(directory + "/" + name, F_OK) != 0 else {
                throw RPCError.invalidState("exists", detail: "a snapshot named \(name) exists; choose another filename or delete it first")
            }
            return name
        }
        let now = HostClock.now()
        let stamp = HostClock.rfc3339(now)  // 2026-12-01T19:43:00.123Z
        let date = stamp.prefix(10), time = stamp.dropFirst(11).prefix(8).replacingOccurrences(of: ":", with: "-")
        let ms = stamp.dropFirst(20).prefix(3)
        var name = "\(device)_\(date)_\(time)_\(ms)\(ext)"
        var n = 1
        while access(directory + "/" + name, F_OK) == 0 {  // two in the same millisecond
            n += 1
            name = "\(device)_\(date)_\(time)_\(ms)-\(n)\(ext)"
        }
        return name
    }

    static func basename(_ path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? path
    }
}

extension Substring {
    func replacingOccurrences(of a: Character, with b: Character) -> String { String(map { $0 == a ? b : $0 }) }
}
