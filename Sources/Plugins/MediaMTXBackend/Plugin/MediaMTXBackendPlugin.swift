import PluginAPI

@_cdecl("swiftplugin_api_version") public func swiftpluginAPIVersion() -> UInt32 { pluginAPIVersion }
@_cdecl("swiftplugin_create") public func swiftpluginCreate() -> UnsafeMutableRawPointer { exportPlugin(MediaMTXBackendPlugin()) }

/// Publishes cameras through MediaMTX (RTSP/WebRTC/HLS).
///
/// Not built yet: it loads and reports itself, but provides no media backend, so the methods that need
/// one answer `-32030 Unsupported`.
final class MediaMTXBackendPlugin: Plugin {
    let info = PluginInfo(name: "mediamtx_backend", version: "0.1.0", summary: "Publishes cameras through MediaMTX (RTSP/WebRTC/HLS). (not implemented yet)")

    func activate(_ context: any PluginContext) async throws -> PluginCapabilities {
        context.logger.warning("media backend not implemented yet: methods needing it answer -32030 Unsupported")
        return PluginCapabilities()
    }

    func shutdown() async {}
}
