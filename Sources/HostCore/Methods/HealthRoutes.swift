import PluginAPI
import WireProtocols

/// `/health`, `/health/live`, `/health/ready` (no authentication: for load balancers and probes).
enum HealthRoutes {
    static func register(_ router: HTTPRouter, _ h: HostServices) {
        router.add("/health", .async { _ in
            let status = HealthModel.overall(await HealthModel.components(h))
            return .json(status == "unhealthy" ? 503 : 200, JSONValue.object([
                "status": .string(status), "timestamp": .string(Clock.rfc3339(Clock.now())),
                "version": .string(BuildInfo.version), "uptime": .double((h.uptime * 1000).rounded() / 1000),
            ]).jsonBytes)
        })
        router.add("/health/live", .inline { _ in .json(200, JSONValue.object(["alive": true]).jsonBytes) })
        router.add("/health/ready", .inline { _ in
            let isReady = h.isReady
            return .json(isReady ? 200 : 503, JSONValue.object(["ready": .bool(isReady),
                                                                 "message": .string(isReady ? "serving" : "starting or shutting down")]).jsonBytes)
        })
    }
}
