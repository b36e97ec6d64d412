import PluginAPI

@_cdecl("swiftplugin_api_version") public func swiftpluginAPIVersion() -> UInt32 { pluginAPIVersion }
@_cdecl("swiftplugin_create") public func swiftpluginCreate() -> UnsafeMutableRawPointer { exportPlugin(FileStorePlugin()) }

/// Media files on disk: listing, retention, space limits.
///
/// Not built yet: it loads and reports itself, but provides no storage provider, so the methods that need
/// one answer `-32030 Unsupported`.
final class FileStorePlugin: Plugin {
    let info = PluginInfo(name: "file_store", version: "0.1.0", summary: "Media files on disk: listing, retention, space limits. (not implemented yet)")

    func activate(_ context: any PluginContext) async throws -> PluginCapabilities {
        context.logger.warning("storage provider not implemented yet: methods needing it answer -32030 Unsupported")
        return PluginCapabilities()
    }

    func shutdown() async {}
}
