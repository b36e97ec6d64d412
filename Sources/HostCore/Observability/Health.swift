import PluginAPI

/// The health of one part of the daemon, as reported by `get_status` and `/health/detailed`.
struct ComponentReport: Sendable {
    var name: String
    /// `healthy`, `degraded`, `unhealthy` or `disabled`.
    var status: String
    var message: String
    var lastChecked: Double

    var json: JSONObject {
        ["status": .string(status), "message": .string(message), "last_checked": .string(Clock.rfc3339(lastChecked))]
    }
}

/// Derives health from the real state: the server's readiness, camera sources, the media
/// backend's own check, and each plugin's load status.
enum HealthModel {
    static func components(_ h: HostServices) async -> [ComponentReport] {
        let now = Clock.now()
        var out: [ComponentReport] = []
        let ready = h.isReady
        out.append(ComponentReport(name: "websocket_server", status: ready ? "healthy" : "unhealthy",
                                   message: ready ? "listening on \(h.config.server.host):\(h.listeningPort), \(h.metrics.activeConnections) connection(s)"
                                                  : "not accepting connections", lastChecked: now))
        let caps = h.capabilities
        let cams = h.cameras.list()
        if caps.cameraSources.isEmpty {
            out.append(ComponentReport(name: "camera_monitor", status: "disabled", message: "no camera source plugin enabled", lastChecked: now))
        } else {
            let connected = cams.filter { $0.status == .connected }.count
            let errors = cams.filter { $0.status == .error }.count
            out.append(ComponentReport(name: "camera_monitor", status: errors > 0 ? "degraded" : "healthy",
                                       message: "\(caps.cameraSources.count) source(s), \(cams.count) camera(s), \(connected) connected\(errors > 0 ? ", \(errors) in error" : "")",
                                       lastChecked: now))
        }
        if let backend = caps.mediaBackend?.backend {
            let health = await backend.health()
            out.append(ComponentReport(name: "mediamtx", status: health.status, message: health.message, lastChecked: Clock.now()))
        } else {
            out.append(ComponentReport(name: "mediamtx", status: "disabled", message: "no media backend plugin enabled", lastChecked: now))
        }
        for p in h.plugins.statuses {
            let status: String
            let message: String
            switch p.state {
            case .active:
                status = "healthy"
                message = "v\(p.version)" + (p.kinds.isEmpty ? "" : " (\(p.kinds.joined(separator: ", ")))")
            case .failed:
                status = "unhealthy"
                message = p.error ?? "failed to load"
            case .disabled:
                status = "disabled"
                message = "disabled in plugins.yaml"
            }
            out.append(ComponentReport(name: p.name, status: status, message: message, lastChecked: now))
        }
        return out
    }

    /// Overall: unhealthy when the server does not serve, degraded when any component is
    /// unhealthy or degraded, else healthy.
    static func overall(_ components: [ComponentReport]) -> String {
        if components.first(where: { $0.name == "websocket_server" })?.status == "unhealthy" { return "unhealthy" }
        if components.contains(where: { $0.status == "unhealthy" || $0.status == "degraded" }) { return "degraded" }
        return "healthy"
    }
}
