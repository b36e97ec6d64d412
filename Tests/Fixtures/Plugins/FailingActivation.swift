// A plugin whose activation refuses its configuration.
import PluginAPI

@_cdecl("swiftplugin_api_version") public func apiVersion() -> UInt32 { pluginAPIVersion }
@_cdecl("swiftplugin_create") public func create() -> UnsafeMutableRawPointer { exportPlugin(FailingActivation()) }

final class FailingActivation: Plugin {
    let info = PluginInfo(name: "failing_activation", version: "0", summary: "fixture")
    func activate(_ context: any PluginContext) async throws -> PluginCapabilities {
        throw PluginConfigError(key: "device_path", problem: "fixture always refuses")
    }
    func shutdown() async {}
}
