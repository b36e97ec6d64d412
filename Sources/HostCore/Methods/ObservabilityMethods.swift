import PluginAPI

/// `get_metrics`, `get_status`, `get_system_status`, `rpc.discover` and their HTTP twins
/// (`/metrics`, `/health/detailed`, `/openrpc.json`).
struct ObservabilityMethods {
    let metrics: Metrics
    let health: HealthRegistry
    let plugins: PluginHost
    let cameras: CameraDirectory
    let methods: MethodTable
    let topics: TopicRegistry
    let events: EventBus
    let server: ServerState

    func register(_ r: OwnedRegistry) throws {
        try r.register(MethodDescriptor("get_metrics", role: .admin, summary: "Request, connection, process and capability metrics.")) { [self] _ in
            // Stream and recording figures only where a capability provides them.
            var extra = JSONObject()
            let caps = plugins.capabilities
            if let backend = caps.mediaBackend?.backend, let streams = await within(CameraMethods.figuresWait, { try await backend.streams() }) {
                extra["streams"] = .object(["active": .int(streams.filter { $0.status == .active }.count),
                                            "viewers": .int(streams.reduce(0) { $0 + $1.viewers }), "total": .int(streams.count)])
            }
            if let engine = caps.captureEngine?.engine {
                extra["recordings"] = .object(["active": .int(await engine.activeRecordings().count)])
            }
            return metrics.json(process: ProcessStats.read(), uptime: server.uptime, cameras: cameras.list(),
                                processes: ProcessesJSON.figures(plugins.statuses), extra: extra)
        }

        try r.registerInline(MethodDescriptor("get_status", role: .admin, summary: "Health of every component and plugin.")) { [self] _ in
            let components = health.components()
            var o = JSONObject()
            for c in components { o[c.name] = .object(c.json) }
            return .object(["status": .string(HealthRegistry.overall(components).rawValue.uppercased()),
                            "uptime": TimeJSON.seconds(server.uptime), "version": .string(BuildInfo.version), "components": .object(o)])
        }

        try r.registerInline(MethodDescriptor("get_system_status", role: .viewer, summary: "Start-up and camera discovery state.")) { [self] _ in
            let sources = cameras.sources
            let available = cameras.list().filter { $0.status == .connected }.map(\.device)
            let failed = plugins.statuses.contains { $0.state == .failed }
            let status = !server.isReady ? "starting" : (failed || sources.isEmpty ? "partial" : "ready")
            let message: String
            switch status {
            case "starting": message = server.isStopping ? "the server is shutting down" : "the server is starting"
            case "partial": message = sources.isEmpty ? "no camera source plugin is enabled" : "some plugins failed to load; see get_status"
            default: message = "\(available.count) camera(s) available"
            }
            return .object(["status": .string(status), "message": .string(message), "available_cameras": .array(available.map(JSONValue.string)),
                            "discovery_active": .bool(cameras.isDiscovering)])
        }

        try r.registerInline(MethodDescriptor("rpc.discover", role: nil, summary: "OpenRPC document of every registered method and event topic.")) { [self] _ in
            OpenRPC.document(methods.all(), topics: topics.all, version: BuildInfo.version)
        }
    }

    func routes(_ router: HTTPRouter) {
        router.add("/openrpc.json", summary: "the rpc.discover document", .inline { [self] _ in
            .json(200, OpenRPC.document(methods.all(), topics: topics.all, version: BuildInfo.version))
        })
        router.add("/health/detailed", summary: "every component's health", .inline { [self] _ in
            let components = health.components()
            let overall = HealthRegistry.overall(components)
            let body: JSONValue = .object(["status": .string(overall.rawValue), "timestamp": .string(HostClock.rfc3339(HostClock.now())),
                                           "components": .array(components.map { c in
                                               var o = c.json
                                               o["name"] = .string(c.name)
                                               return .object(o)
                                           })])
            return .json(overall == .unhealthy ? 503 : 200, body)
        })
        router.add("/metrics", role: .viewer, summary: "Prometheus text exposition", .inline { [self] _ in
            let text = metrics.prometheus(process: ProcessStats.read(), uptime: server.uptime, cameras: cameras.list(), plugins: plugins.statuses,
                                          health: health.components().map { ($0.name, $0.status) }, events: events.counters, version: BuildInfo.version)
            return HTTPRouteResponse(status: 200, headers: [("Content-Type", "text/plain; version=0.0.4; charset=utf-8")], body: .bytes(Array(text.utf8)))
        })
        router.add("/health", summary: "overall health", .inline { [self] _ in
            let status = HealthRegistry.overall(health.components())
            return .json(status == .unhealthy ? 503 : 200, .object([
                "status": .string(status.rawValue), "timestamp": .string(HostClock.rfc3339(HostClock.now())),
                "version": .string(BuildInfo.version), "uptime": TimeJSON.seconds(server.uptime)]))
        })
        router.add("/health/live", summary: "the process answers", .inline { _ in .json(200, .object(["alive": true])) })
        router.add("/health/ready", summary: "the server accepts work", .inline { [server] _ in
            let isReady = server.isReady
            return .json(isReady ? 200 : 503, .object(["ready": .bool(isReady), "message": .string(isReady ? "serving" : "starting or shutting down")]))
        })
    }
}

/// Supervised child process counts per plugin.
enum ProcessesJSON {
    static func figures(_ statuses: [PluginStatus]) -> JSONObject {
        var byPlugin = JSONObject()
        var started = 0
        for s in statuses {
            guard let p = s.processes else { continue }
            started += p.startedCount
            if p.startedCount > 0 || p.liveCount > 0 {
                byPlugin[s.name] = .object(["live": .int(p.liveCount), "started": .int(p.startedCount), "failed_to_start": .int(p.failedCount)])
            }
        }
        return ["live": .int(ProcessLauncher.totalLive), "started": .int(started), "by_plugin": .object(byPlugin)]
    }
}
