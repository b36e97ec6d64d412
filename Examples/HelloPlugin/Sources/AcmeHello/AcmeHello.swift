import PluginAPI
import Synchronization

// The two entry points every plugin exports.
@_cdecl("swiftplugin_api_version") public func swiftpluginAPIVersion() -> UInt32 { pluginAPIVersion }
@_cdecl("swiftplugin_create") public func swiftpluginCreate() -> UnsafeMutableRawPointer { exportPlugin(AcmeHelloPlugin()) }

/// A minimal third-party plugin: one JSON-RPC method, `acme.hello`, configured from plugins.yaml:
///
/// ```yaml
/// - name: acme_hello
///   library: /opt/acme/libAcmeHello.so
///   config: { greeting: "Hello" }
/// ```
final class AcmeHelloPlugin: Plugin {
    let info = PluginInfo(name: "acme_hello", version: "1.0.0", summary: "example out-of-tree plugin")
    /// How many greetings were given (state behind a Mutex: plugins are Sendable).
    let greeted = Mutex(0)

    func activate(_ context: any PluginContext) async throws -> PluginCapabilities {
        try context.config.rejectUnknownKeys(allowed: ["greeting"])
        let greeting = try context.config.configString("greeting", default: "Hello")
        try context.methods.register(MethodDescriptor("acme.hello", role: .viewer, summary: "Greets the caller.", params: [
            ParamDescriptor("name", .string(minLength: 1, maxLength: 64), required: true, summary: "who to greet"),
        ])) { [self] call in
            let n = self.greeted.withLock { count in
                count += 1
                return count
            }
            let caller = call.principal?.userID ?? "anonymous"
            return .object(["message": .string("\(greeting), \(call.params.string("name") ?? "")!"), "caller": .string(caller), "count": .int(n)])
        }
        context.logger.info("acme_hello ready (greeting: \(greeting))")
        return PluginCapabilities()
    }

    func shutdown() async {}
}
