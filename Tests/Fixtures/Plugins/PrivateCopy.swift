// Built against a static PluginAPI of its own (see build.sh): its types are not the host's.
import PluginAPI

@_cdecl("swiftplugin_api_version") public func apiVersion() -> UInt32 { pluginAPIVersion }
@_cdecl("swiftplugin_create") public func create() -> UnsafeMutableRawPointer { exportPlugin(PrivateCopy()) }

final class PrivateCopy: Plugin {
    let info = PluginInfo(name: "private_copy", version: "0", summary: "fixture")
    func activate(_ context: any PluginContext) async throws -> PluginCapabilities { PluginCapabilities() }
    func shutdown() async {}
}
