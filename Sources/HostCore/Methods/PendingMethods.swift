import PluginAPI

/// Contract methods whose host side is not built yet. They are registered with their real
/// roles and parameters (so role checks, validation and discovery already hold) and answer
/// `-32030 Unsupported` naming the missing feature, as the contract asks for a capability
/// that is not there. Each moves to its own file when its issue lands.
enum PendingMethods {
    static let filename = ParamDescriptor("filename", .string(minLength: 1, maxLength: 255), required: true, summary: "file name, no path")
    static let listParams = [
        ParamDescriptor("limit", .integer(minimum: 1, maximum: 1000), summary: "page size, default 50"),
        ParamDescriptor("offset", .integer(minimum: 0), summary: "files to skip"),
        ParamDescriptor("device", .string(pattern: DeviceParam.pattern), summary: "only this camera's files"),
    ]

    static let all: [(MethodDescriptor, feature: String, plugin: String)] = [
        (MethodDescriptor("take_snapshot", role: .operator, summary: "Captures one image.", params: [
            DeviceParam.descriptor,
            ParamDescriptor("filename", .string(minLength: 1, maxLength: 255)),
            ParamDescriptor("format", .enumeration(["jpg", "png"])),
            ParamDescriptor("quality", .integer(minimum: 1, maximum: 100)),
        ]), "capture_engine", "ffmpeg_capture"),
        (MethodDescriptor("start_recording", role: .operator, summary: "Starts recording a camera.", params: [
            DeviceParam.descriptor,
            ParamDescriptor("duration", .integer(minimum: 1, maximum: 86400)),
            ParamDescriptor("format", .enumeration(["fmp4", "mp4", "mkv"])),
        ]), "capture_engine", "ffmpeg_capture"),
        (MethodDescriptor("stop_recording", role: .operator, summary: "Stops a camera's recording.", params: [DeviceParam.descriptor]),
         "capture_engine", "ffmpeg_capture"),
        (MethodDescriptor("list_recordings", role: .viewer, summary: "Recordings, newest first.", params: listParams), "storage_provider", "file_store"),
        (MethodDescriptor("list_snapshots", role: .viewer, summary: "Snapshots, newest first.", params: listParams), "storage_provider", "file_store"),
        (MethodDescriptor("get_recording_info", role: .viewer, summary: "One recording.", params: [filename]), "storage_provider", "file_store"),
        (MethodDescriptor("get_snapshot_info", role: .viewer, summary: "One snapshot.", params: [filename]), "storage_provider", "file_store"),
        (MethodDescriptor("delete_recording", role: .operator, summary: "Deletes one recording.", params: [filename]), "storage_provider", "file_store"),
        (MethodDescriptor("delete_snapshot", role: .operator, summary: "Deletes one snapshot.", params: [filename]), "storage_provider", "file_store"),
        (MethodDescriptor("start_streaming", role: .operator, summary: "Publishes a camera through the media server.", params: [DeviceParam.descriptor]),
         "media_backend", "mediamtx_backend"),
        (MethodDescriptor("stop_streaming", role: .operator, summary: "Stops publishing a camera.", params: [DeviceParam.descriptor]),
         "media_backend", "mediamtx_backend"),
        (MethodDescriptor("get_stream_url", role: .viewer, summary: "A camera's stream URLs.", params: [DeviceParam.descriptor]),
         "media_backend", "mediamtx_backend"),
        (MethodDescriptor("get_stream_status", role: .viewer, summary: "A camera's stream state.", params: [DeviceParam.descriptor]),
         "media_backend", "mediamtx_backend"),
        (MethodDescriptor("get_streams", role: .viewer, summary: "Every stream."), "media_backend", "mediamtx_backend"),
        (MethodDescriptor("get_storage_info", role: .admin, summary: "Space and thresholds."), "storage_provider", "file_store"),
        (MethodDescriptor("set_retention_policy", role: .admin, summary: "Sets the retention policy.", params: [
            ParamDescriptor("policy_type", .enumeration(["age", "size", "manual"]), required: true),
            ParamDescriptor("enabled", .boolean, required: true),
            ParamDescriptor("max_age_days", .number(minimum: 0)),
            ParamDescriptor("max_size_gb", .number(minimum: 0)),
        ]), "storage_provider", "file_store"),
        (MethodDescriptor("cleanup_old_files", role: .admin, summary: "Applies the retention policy now.", params: [
            ParamDescriptor("dry_run", .boolean),
        ]), "storage_provider", "file_store"),
    ]

    static func register(_ r: OwnedRegistry) throws {
        for (d, feature, plugin) in all {
            try r.registerInline(d) { _ in throw Feature.unsupported(feature, plugin: plugin) }
        }
    }
}
