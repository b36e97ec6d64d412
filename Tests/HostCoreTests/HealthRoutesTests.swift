@testable import HostCore
import PluginAPI
import Testing

/// `/health`, `/health/live`, `/health/ready` and `/health/detailed` as the daemon wires them
/// (HostAssembly with its core methods and routes), called without a network: 503 exactly when
/// the contract says so.
@Suite struct HealthRoutesTests {
    let host: HostAssembly

    init() throws {
        var config = ServiceConfig()
        config.server.consoleDir = ""
        host = HostAssembly(config: config, sink: LogSink(level: .critical, format: "json"), env: [:], baseDir: "/tmp")
        try host.registerCoreMethods()
    }

    /// (status, JSON body) of a GET.
    func get(_ path: String) -> (Int, JSONValue?) {
        guard let route = host.router.route(for: path), case .inline(let handler) = route.implementation else {
            Issue.record("no inline route for \(path)")
            return (0, nil)
        }
        #expect(route.minimumRole == nil, "\(path) is for probes: no credentials")
        let r = handler(HTTPRouteRequest(method: "GET", path: path, query: "", headers: [], principal: nil, remoteHost: "127.0.0.1"))
        guard case .bytes(let bytes) = r.body.source else { return (r.status, nil) }
        #expect(r.headers.contains { $0.0 == "Content-Type" && $0.1 == "application/json" })
        return (r.status, try? JSONValue.parse(bytes, maxDepth: 16))
    }

    @Test func notReadyWhileStarting() {
        let (health, body) = get("/health")
        #expect(health == 503 && body?["status"] == "unhealthy")
        let (ready, readyBody) = get("/health/ready")
        #expect(ready == 503 && readyBody == .object(["ready": false, "message": "starting or shutting down"]))
        let (detailed, detailedBody) = get("/health/detailed")
        let server = detailedBody?["components"]?.arrayValue?.first { $0["name"] == "websocket_server" }
        #expect(detailed == 503 && detailedBody?["status"] == "unhealthy" && server?["status"] == "unhealthy")
        let (live, liveBody) = get("/health/live")  // the process answers: alive, whatever else
        #expect(live == 200 && liveBody == .object(["alive": true]))
    }

    @Test func readyOnceListening() {
        host.serverState.setReady(true, port: 8002)
        let (health, body) = get("/health")
        #expect(health == 200 && body?["status"] == "healthy" && body?["version"] == .string(BuildInfo.version))
        #expect(body?["uptime"] != nil && body?["timestamp"]?.stringValue?.hasSuffix("Z") == true)
        let (ready, readyBody) = get("/health/ready")
        #expect(ready == 200 && readyBody == .object(["ready": true, "message": "serving"]))
        #expect(get("/health/detailed").0 == 200)
    }

    @Test func degradedIsStill200() {
        host.serverState.setReady(true, port: 8002)
        _ = host.health.report("cache", ComponentHealth(status: .degraded, message: "slow"), owner: "cache", pluginNames: ["cache"])
        let (health, body) = get("/health")
        #expect(health == 200 && body?["status"] == "degraded")
        #expect(get("/health/ready").0 == 200)
        _ = host.health.report("cache", ComponentHealth(status: .unhealthy, message: "down"), owner: "cache", pluginNames: ["cache"])
        let (still, stillBody) = get("/health")  // only the server itself not serving is 503
        #expect(still == 200 && stillBody?["status"] == "degraded")
    }

    @Test func notReadyOnceShutdownBegins() throws {
        host.serverState.setReady(true, port: 8002)
        host.beginShutdown(try LoopHandle())
        let (ready, body) = get("/health/ready")
        #expect(ready == 503 && body?["ready"] == false)
        #expect(get("/health").0 == 503)
    }
}
