// Registers its own method, then one the core already has; neither may survive.
import PluginAPI

@_cdecl("swiftplugin_api_version") public func apiVersion() -> UInt32 { pluginAPIVersion }
@_cdecl("swiftplugin_create") public func create() -> UnsafeMutableRawPointer { exportPlugin(DuplicateMethod()) }

final class DuplicateMethod: Plugin {
    let info = PluginInfo(name: "duplicate_method", version: "0", summary: "fixture")
    func activate(_ context: any PluginContext) async throws -> PluginCapabilities {
        try context.methods.registerInline(MethodDescriptor("fixture.orphan", role: nil)) { _ in "must not be reachable" }
        try context.methods.registerInline(MethodDescriptor("ping", role: nil)) { _ in "hijacked" }
        return PluginCapabilities()
    }
    func shutdown() async {}
}
