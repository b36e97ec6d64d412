import Codecs
import PluginAPI

/// Build facts reported by `--version` and `get_server_info`.
public enum BuildInfo {
    public static let name = "camera-service"
    public static let version = "0.1.0"
    public static var swiftVersion: String {
        #if compiler(>=6.3)
        return "6.3"
        #elseif compiler(>=6.2)
        return "6.2"
        #else
        return "6.x"
        #endif
    }
    public static var architecture: String {
        #if arch(x86_64)
        return "x86_64"
        #elseif arch(arm64)
        return "aarch64"
        #else
        return "unknown"
        #endif
    }
}

/// `ping`, `authenticate`, `get_server_info` and the event subscription methods.
enum SystemMethods {
    static func register(_ r: OwnedRegistry, _ h: HostServices) throws {
        try r.registerInline(MethodDescriptor("ping", role: nil, summary: "Liveness check; answers \"pong\".")) { _ in "pong" }

        try r.register(MethodDescriptor("authenticate", role: nil, summary: "Authenticates the connection with a JWT or API key.", params: [
            ParamDescriptor("auth_token", .string(minLength: 1, maxLength: 16384), summary: "JWT or csk_ API key"),
            ParamDescriptor("token", .string(minLength: 1, maxLength: 16384), summary: "alias of auth_token"),
            ParamDescriptor("auth_type", .enumeration(["jwt", "api_key", "auto"]), summary: "credential kind (default auto)"),
        ])) { call in
            guard let token = call.params.string("auth_token") ?? call.params.string("token") else {
                throw RPCError.invalidParams(param: "auth_token", rule: "required", detail: "'auth_token' is required")
            }
            guard let verify = h.credentialVerifier() else { throw Feature.unsupported("authentication", plugin: "jwt_auth") }
            // Repeated failures from one IP slow down (AuthThrottle).
            if let wait = h.sessions.authBackoff(call.connectionID) { throw RPCError.rateLimited(retryAfterMs: wait) }
            let host = h.sessions.state(call.connectionID)?.remoteHost ?? "-"
            let principal: Principal
            do { principal = try await verify(token, call.params.string("auth_type") ?? "auto") } catch {
                h.sessions.recordAuthentication(call.connectionID, succeeded: false)
                let e = error as? RPCError ?? .authenticationRequired(reason: "auth_failed", detail: "\(error)")
                call.logger.notice("authentication failed", [("audit", "auth_failure"), ("reason", e.data["reason"]?.stringValue ?? ""),
                                                             ("detail", e.data["detail"]?.stringValue ?? ""), ("remote", host)])
                throw e
            }
            h.sessions.recordAuthentication(call.connectionID, succeeded: true)
            let sessionID = randomHex(16)
            h.sessions.setPrincipal(call.connectionID, principal, sessionID: sessionID)
            call.logger.info("authenticated", [("audit", "auth_success"), ("user", principal.userID), ("role", principal.role.name),
                                               ("auth_type", principal.authType), ("remote", host)])
            var result: JSONObject = ["authenticated": true, "role": .string(principal.role.name),
                                      "permissions": .array(principal.role.permissions.map(JSONValue.string))]
            result["expires_at"] = principal.expiresAt.map { .string(Clock.rfc3339($0)) } ?? .null
            result["session_id"] = .string(sessionID)
            result["auth_type"] = .string(principal.authType)
            return .object(result)
        }

        try r.registerInline(MethodDescriptor("get_server_info", role: .viewer, summary: "Server name, version, capabilities and plugins.")) { _ in
            let caps = h.capabilities
            var capabilities: [String] = ["json_rpc", "websocket", "events"]
            if !caps.cameraSources.isEmpty { capabilities.append("cameras") }
            if caps.mediaBackend != nil { capabilities.append("streaming") }
            if caps.captureEngine != nil { capabilities += ["snapshots", "recordings"] }
            if caps.storageProvider != nil { capabilities.append("file_management") }
            if !caps.authProviders.isEmpty { capabilities.append("authentication") }
            let plugins: [JSONValue] = h.plugins.statuses.map { s in
                .object(["name": .string(s.name), "kind": .string(s.kinds.joined(separator: ",")), "version": .string(s.version),
                         "enabled": .bool(s.state == .active), "status": .string(s.state.rawValue)])
            }
            return .object(["name": .string(BuildInfo.name), "version": .string(BuildInfo.version),
                            "build_date": .string(Clock.rfc3339(executableModificationTime())),
                            "swift_version": .string(BuildInfo.swiftVersion), "architecture": .string(BuildInfo.architecture),
                            "capabilities": .array(capabilities.map(JSONValue.string)),
                            "supported_formats": ["fmp4", "mp4", "mkv", "jpg", "png"],
                            "max_cameras": .int(64), "plugins": .array(plugins)])
        }

        try r.registerInline(MethodDescriptor("subscribe_events", role: .viewer, summary: "Subscribes the connection to event topics.", params: [
            ParamDescriptor("topics", .array(of: .enumeration(EventTopic.all), minItems: 1, maxItems: 64), required: true, summary: "topics to add"),
            ParamDescriptor("filters", .object, summary: "exact-match filters on event fields, e.g. {\"device\":\"camera0\"}"),
        ])) { call in
            let topics = call.params["topics"]?.arrayValue?.compactMap(\.stringValue) ?? []
            let filters = call.params["filters"]?.objectValue ?? [:]
            // Filters are matched against every event: keep them small and flat.
            guard filters.count <= 16, filters.allSatisfy({ f in
                f.key.utf8.count <= 64 && { if case .string(let v) = f.value { return v.utf8.count <= 256 }; return f.value.arrayValue == nil && f.value.objectValue == nil }()
            }) else {
                throw RPCError.invalidParams(param: "filters", rule: "max_size", detail: "at most 16 filters of short scalar values")
            }
            guard let ref = h.sessions.state(call.connectionID)?.ref,
                  let now = h.events.subscribe(ref, topics: topics, filters: filters) else {
                throw RPCError.invalidState("closed", detail: "the connection is closing")
            }
            return .object(["subscribed": true, "topics": .array(now.map(JSONValue.string)), "filters": .object(filters)])
        }

        try r.registerInline(MethodDescriptor("unsubscribe_events", role: .viewer, summary: "Removes topics (all when omitted).", params: [
            ParamDescriptor("topics", .array(of: .enumeration(EventTopic.all)), summary: "topics to remove"),
        ])) { call in
            let topics = call.params["topics"]?.arrayValue?.compactMap(\.stringValue)
            let removed = h.events.unsubscribe(call.connectionID, topics: topics)
            return .object(["unsubscribed": true, "topics": .array(removed.map(JSONValue.string))])
        }

        try r.registerInline(MethodDescriptor("get_subscription_stats", role: .viewer, summary: "Subscription counts.")) { call in
            let s = h.events.stats(for: call.connectionID)
            var counts = JSONObject()
            for (t, n) in s.topicCounts.sorted(by: { $0.key < $1.key }) { counts[t] = .int(n) }
            return .object(["global_stats": .object(["total_subscriptions": .int(s.total), "active_clients": .int(s.clients),
                                                     "topic_counts": .object(counts)]),
                            "client_topics": .array(s.mine.map(JSONValue.string)), "client_id": .string(String(call.connectionID))])
        }
    }
}

/// `count` random bytes as hex (session ids).
func randomHex(_ count: Int) -> String { Crypto.hex(Crypto.randomBytes(count)) }
