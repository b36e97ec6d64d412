// A test plugin that uses every service of the SDK a media plugin needs, so the host's side of
// each can be tested through the running daemon:
//   <name>.emit {topic}                    publishes a topic (its own `<name>.tick`, or any)
//   <name>.health {status, message}        reports component `fixture_component`
//   <name>.spawn {seconds}                 starts `sleep seconds` under supervision; returns its pid
//   <name>.fetch {url}                     GET through the SDK's HTTP client; returns status and body
//   GET /fixture/bytes | /fixture/stream?n=N | /fixture/file?path=P   (viewer)
//   GET /fixture-admin/                                                (admin)
import Glibc
import PluginAPI
import Synchronization

@_cdecl("swiftplugin_api_version") public func apiVersion() -> UInt32 { pluginAPIVersion }
@_cdecl("swiftplugin_create") public func create() -> UnsafeMutableRawPointer { exportPlugin(SDKFeaturesPlugin()) }

final class SDKFeaturesPlugin: Plugin {
    let info = PluginInfo(name: "fixture_sdk", version: "0", summary: "test fixture for the SDK's services")

    func activate(_ context: any PluginContext) async throws -> PluginCapabilities {
        let name = context.pluginName
        try context.events.declare(EventTopicDescriptor("\(name).tick", summary: "a fixture event"))
        try context.events.declare(EventTopicDescriptor("\(name).secret", summary: "admins only", visibleTo: .admin))
        let events = context.events, health = context.health, processes = context.processes
        try context.methods.registerInline(MethodDescriptor("\(name).emit", role: .operator, params: [ParamDescriptor("topic", .string(), required: true)])) { call in
            events.publish(Event(topic: call.params.string("topic") ?? "", params: ["n": 1]))
            return true
        }
        try context.methods.registerInline(MethodDescriptor("\(name).health", role: .operator, params: [
            ParamDescriptor("status", .enumeration(["healthy", "degraded", "unhealthy"]), required: true),
            ParamDescriptor("component", .string()),
        ])) { call in
            let status = HealthStatus(rawValue: call.params.string("status") ?? "") ?? .unhealthy
            health.report(call.params.string("component") ?? "fixture_component", ComponentHealth(status: status, message: "set by a test", details: ["breaker": "closed"]))
            return true
        }
        try context.methods.register(MethodDescriptor("\(name).spawn", role: .operator, params: [ParamDescriptor("seconds", .integer(minimum: 1), required: true)])) { call in
            let child = try await processes.spawn(ProcessSpec(executable: "sleep", arguments: [String(call.params.int("seconds") ?? 1)], label: "fixture sleep"))
            return .int(Int(child.pid))
        }
        try context.methods.register(MethodDescriptor("\(name).fetch", role: .operator, params: [ParamDescriptor("base", .string(), required: true),
                                                                                                 ParamDescriptor("path", .string(), required: true)])) { call in
            let client = try HTTPClient(baseURL: call.params.string("base") ?? "", timeout: 2)
            do {
                let r = try await client.request("GET", call.params.string("path") ?? "/")
                return .object(["status": .int(r.status), "body": .string(r.text)])
            } catch {
                throw RPCError.dependencyFailed("fixture", detail: "\(error)")
            }
        }
        try context.http.route(prefix: "/fixture/", minimumRole: .viewer, summary: "fixture bodies") { request in
            let query = request.query
            switch request.path {
            case "/fixture/bytes":
                return HTTPRouteResponse(status: 200, headers: [("Content-Type", "text/plain"), ("X-Caller", request.principal?.userID ?? "-")],
                                         body: .bytes(Array("hello".utf8)))
            case "/fixture/stream":
                let n = Int(query.split(separator: "=").last ?? "3") ?? 3
                return HTTPRouteResponse(status: 200, headers: [("Content-Type", "text/plain")], body: .stream(Countdown(n), contentLength: nil))
            case "/fixture/file":
                let path = String(query.dropFirst("path=".count))
                let fd = open(path, O_RDONLY | O_CLOEXEC)
                guard fd >= 0 else { return .error(404, "no such file") }
                var st = stat()
                fstat(fd, &st)
                return HTTPRouteResponse(status: 200, headers: [("Content-Type", "application/octet-stream")],
                                         body: .file(descriptor: fd, offset: 0, length: Int(st.st_size)))
            default:
                return .error(404, "not found")
            }
        }
        try context.http.route(prefix: "/fixture-admin/", minimumRole: .admin, summary: "admins only") { _ in .json(200, ["ok": true]) }
        return PluginCapabilities()
    }

    func shutdown() async {}
}

/// `n` chunks `chunk <i>\n`, then the end.
final class Countdown: HTTPBodyStream {
    let left: Mutex<Int>
    init(_ n: Int) { left = Mutex(n) }
    func next() async throws -> [UInt8]? {
        let i = left.withLock { n -> Int? in
            guard n > 0 else { return nil }
            n -= 1
            return n
        }
        guard let i else { return nil }
        return Array("chunk \(i)\n".utf8)
    }
    func cancel() {}
}
