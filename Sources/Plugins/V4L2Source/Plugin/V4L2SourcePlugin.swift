import PluginAPI

@_cdecl("swiftplugin_api_version") public func swiftpluginAPIVersion() -> UInt32 { pluginAPIVersion }
@_cdecl("swiftplugin_create") public func swiftpluginCreate() -> UnsafeMutableRawPointer { exportPlugin(V4L2SourcePlugin()) }

/// V4L2 cameras with udev hot-plug.
///
/// Not built yet: it loads and reports itself, but provides no camera source, so the methods that need
/// one answer `-32030 Unsupported`.
final class V4L2SourcePlugin: Plugin {
    let info = PluginInfo(name: "v4l2_source", version: "0.1.0", summary: "V4L2 cameras with udev hot-plug. (not implemented yet)")

    func activate(_ context: any PluginContext) async throws -> PluginCapabilities {
        context.logger.warning("camera source not implemented yet: methods needing it answer -32030 Unsupported")
        return PluginCapabilities()
    }

    func shutdown() async {}
}
