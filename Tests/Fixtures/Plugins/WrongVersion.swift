// Claims a PluginAPI major version the host does not have.
import PluginAPI

@_cdecl("swiftplugin_api_version") public func apiVersion() -> UInt32 { (99 << 16) | 0 }
@_cdecl("swiftplugin_create") public func create() -> UnsafeMutableRawPointer { exportPlugin(WrongVersion()) }

final class WrongVersion: Plugin {
    let info = PluginInfo(name: "wrong_version", version: "0", summary: "fixture")
    func activate(_ context: any PluginContext) async throws -> PluginCapabilities { PluginCapabilities() }
    func shutdown() async {}
}
