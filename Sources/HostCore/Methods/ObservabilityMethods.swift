import PluginAPI
import WireProtocols

/// `get_metrics`, `get_status`, `get_system_status`, `rpc.discover` and their HTTP twins.
enum ObservabilityMethods {
    static func register(_ r: OwnedRegistry, _ h: HostServices) throws {
        try r.registerInline(MethodDescriptor("get_metrics", role: .admin, summary: "Request, connection and process metrics.")) { _ in
            h.metrics.json(process: ProcessStats.read(), uptime: h.uptime, cameras: h.cameras.list())
        }

        try r.register(MethodDescriptor("get_status", role: .admin, summary: "Health of every component and plugin.")) { _ in
            let components = await HealthModel.components(h)
            var o = JSONObject()
            for c in components { o[c.name] = .object(c.json) }
            return .object(["status": .string(HealthModel.overall(components).uppercased()),
                            "uptime": .double((h.uptime * 1000).rounded() / 1000), "version": .string(BuildInfo.version),
                            "components": .object(o)])
        }

        try r.registerInline(MethodDescriptor("get_system_status", role: .viewer, summary: "Start-up and camera discovery state.")) { _ in
            let sources = h.capabilities.cameraSources
            let cams = h.cameras.list().filter { $0.status == .connected }.map(\.device)
            let failedSources = h.plugins.statuses.contains { $0.state == .failed }
            let status = !h.isReady ? "starting" : (failedSources || sources.isEmpty ? "partial" : "ready")
            let message: String
            switch status {
            case "starting": message = "the server is starting"
            case "partial": message = sources.isEmpty ? "no camera source plugin is enabled" : "some plugins failed to load; see get_status"
            default: message = "\(cams.count) camera(s) available"
            }
            return .object(["status": .string(status), "message": .string(message), "available_cameras": .array(cams.map(JSONValue.string)),
                            "discovery_active": .bool(!sources.isEmpty)])
        }

        try r.registerInline(MethodDescriptor("rpc.discover", role: nil, summary: "OpenRPC document of every registered method.")) { _ in
            OpenRPC.document(h.methods.all(), version: BuildInfo.version)
        }
    }

    static func routes(_ router: HTTPRouter, _ h: HostServices) {
        router.add("/openrpc.json", .inline { _ in
            .json(200, OpenRPC.document(h.methods.all(), version: BuildInfo.version).jsonBytes)
        })
        router.add("/health/detailed", .async { _ in
            let components = await HealthModel.components(h)
            let overall = HealthModel.overall(components)
            let body: JSONValue = .object(["status": .string(overall), "timestamp": .string(Clock.rfc3339(Clock.now())),
                                           "components": .array(components.map { c in
                                               var o = c.json
                                               o["name"] = .string(c.name)
                                               return .object(o)
                                           })])
            return .json(overall == "unhealthy" ? 503 : 200, body.jsonBytes)
        })
        router.add("/metrics", .async { request in
            if case .refused(let response) = await HTTPAuth.authorize(request, minimum: Role.viewer, h) { return response }
            let text = h.metrics.prometheus(process: ProcessStats.read(), uptime: h.uptime, cameras: h.cameras.list(),
                                            plugins: h.plugins.statuses, events: h.events.counters, version: BuildInfo.version)
            return HTTPResponse(status: 200, headers: [("Content-Type", "text/plain; version=0.0.4; charset=utf-8")], body: Array(text.utf8))
        })
    }
}

/// Credentials on HTTP: `Authorization: Bearer <JWT or key>` or `X-API-Key: <key>`, checked
/// by the same auth chain and role order as JSON-RPC.
enum HTTPAuth {
    enum Outcome {
        case allowed(Principal)
        case refused(HTTPResponse)
    }

    static func authorize(_ request: HTTPRequest, minimum: Role, _ h: HostServices) async -> Outcome {
        var token: String?
        var type = "auto"
        if let auth = request.header("authorization") {
            let parts = auth.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" { token = String(parts[1]).trimmingCharacters(in: " ") }
        } else if let key = request.header("x-api-key") {
            token = key
            type = "api_key"
        }
        guard let token, !token.isEmpty else { return .refused(refuse(401, "authentication required (Authorization: Bearer or X-API-Key)")) }
        guard let verify = h.credentialVerifier() else { return .refused(refuse(503, "no auth provider plugin is enabled")) }
        // The same per-IP backoff as JSON-RPC authentication.
        if let wait = h.sessions.authBackoff(host: request.remoteHost) {
            var r = refuse(429, "too many failed authentications; retry later")
            r.headers.append(("Retry-After", String(max(1, (wait + 999) / 1000))))
            return .refused(r)
        }
        let principal: Principal
        do { principal = try await verify(token, type) } catch {
            h.sessions.recordAuthentication(host: request.remoteHost, succeeded: false)
            h.logger.notice("HTTP authentication failed for \(request.path)", [("audit", "auth_failure"), ("via", "http"), ("remote", request.remoteHost)])
            return .refused(refuse(401, "invalid or expired credentials"))
        }
        h.sessions.recordAuthentication(host: request.remoteHost, succeeded: true)
        guard principal.role >= minimum else {
            h.logger.notice("permission denied: \(request.path) needs \(minimum.name)", [("audit", "permission_denied"), ("user", principal.userID)])
            return .refused(refuse(403, "\(request.path) needs role \(minimum.name)"))
        }
        return .allowed(principal)
    }

    static func refuse(_ status: Int, _ message: String) -> HTTPResponse {
        var r = HTTPRouter.error(status, message)
        if status == 401 { r.headers.append(("WWW-Authenticate", "Bearer")) }
        return r
    }
}

extension String {
    func trimmingCharacters(in set: Character) -> String {
        var s = Substring(self)
        while s.first == set { s.removeFirst() }
        while s.last == set { s.removeLast() }
        return String(s)
    }
}
