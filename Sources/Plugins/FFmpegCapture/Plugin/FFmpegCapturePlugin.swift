import PluginAPI

@_cdecl("swiftplugin_api_version") public func swiftpluginAPIVersion() -> UInt32 { pluginAPIVersion }
@_cdecl("swiftplugin_create") public func swiftpluginCreate() -> UnsafeMutableRawPointer { exportPlugin(FFmpegCapturePlugin()) }

/// Snapshots and segmented recordings with FFmpeg.
///
/// Not built yet: it loads and reports itself, but provides no capture engine, so the methods that need
/// one answer `-32030 Unsupported`.
final class FFmpegCapturePlugin: Plugin {
    let info = PluginInfo(name: "ffmpeg_capture", version: "0.1.0", summary: "Snapshots and segmented recordings with FFmpeg. (not implemented yet)")

    func activate(_ context: any PluginContext) async throws -> PluginCapabilities {
        context.logger.warning("capture engine not implemented yet: methods needing it answer -32030 Unsupported")
        return PluginCapabilities()
    }

    func shutdown() async {}
}
