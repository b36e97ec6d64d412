import Codecs
import PluginAPI

/// `ping`, `authenticate` and `get_server_info`.
struct SystemMethods {
    let authenticator: Authenticator
    let sessions: SessionRegistry
    let plugins: PluginHost
    let cameras: CameraDirectory

    func register(_ r: OwnedRegistry) throws {
        try r.registerInline(MethodDescriptor("ping", role: nil, summary: "Liveness check; answers \"pong\".")) { _ in "pong" }

        try r.register(MethodDescriptor("authenticate", role: nil, summary: "Authenticates the connection with a JWT or API key.", params: [
            ParamDescriptor("auth_token", .string(minLength: 1, maxLength: 16384), summary: "JWT or csk_ API key"),
            ParamDescriptor("token", .string(minLength: 1, maxLength: 16384), summary: "alias of auth_token"),
            ParamDescriptor("auth_type", .enumeration(["jwt", "api_key", "auto"]), summary: "credential kind (default auto)"),
        ])) { [authenticator, sessions] call in
            guard let token = call.params.string("auth_token") ?? call.params.string("token") else {
                throw RPCError.invalidParams(param: "auth_token", rule: "required", detail: "'auth_token' is required")
            }
            let type = call.params.string("auth_type").flatMap(AuthType.init(rawValue:))
            let principal = try await authenticator.authenticate(token, type: type, remoteHost: call.origin.remoteHost, via: .method,
                                                                 logger: call.logger).get()
            let sessionID = Crypto.hex(Crypto.randomBytes(16))
            sessions.setPrincipal(call.connectionID, principal, sessionID: sessionID)
            return .object(["authenticated": true, "user_id": .string(principal.userID), "role": .string(principal.role.name),
                            "permissions": .array(principal.role.permissions.map(JSONValue.string)),
                            "expires_at": TimeJSON.rfc3339(principal.expiresAt), "session_id": .string(sessionID),
                            "auth_type": .string(principal.authType.rawValue)])
        }

        try r.registerInline(MethodDescriptor("get_server_info", role: .viewer, summary: "Server name, version, capabilities and plugins.")) { [plugins, cameras] _ in
            let caps = plugins.capabilities
            var capabilities: [String] = ["json_rpc", "websocket", "events"]
            if !caps.cameraSources.isEmpty { capabilities.append("cameras") }
            if caps.mediaBackend != nil { capabilities.append("streaming") }
            if caps.captureEngine != nil { capabilities += ["snapshots", "recordings"] }
            if caps.storageProvider != nil { capabilities.append("file_management") }
            if !caps.authProviders.isEmpty { capabilities.append("authentication") }
            // Only what something loaded can produce.
            var formats: [String] = []
            if let engine = caps.captureEngine?.engine {
                formats = engine.recordingFormats.map(\.rawValue) + engine.snapshotFormats.map(\.rawValue)
            }
            let list: [JSONValue] = plugins.statuses.map { s in
                .object(["name": .string(s.name), "kind": .string(s.kinds.joined(separator: ",")), "version": .string(s.version),
                         "enabled": .bool(s.state == .active), "status": .string(s.state.rawValue)])
            }
            var o: JSONObject = ["name": .string(BuildInfo.name), "version": .string(BuildInfo.version),
                                 "build_date": .string(HostClock.rfc3339(executableModificationTime())),
                                 "swift_version": .string(BuildInfo.swiftVersion), "architecture": .string(BuildInfo.architecture),
                                 "capabilities": .array(capabilities.map(JSONValue.string)),
                                 "supported_formats": .array(formats.map(JSONValue.string))]
            o["max_cameras"] = cameras.maxCameras.map(JSONValue.int) ?? .null
            o["plugins"] = .array(list)
            return .object(o)
        }
    }
}

/// `subscribe_events`, `unsubscribe_events`, `get_subscription_stats`.
struct EventMethods {
    let events: EventBus
    let sessions: SessionRegistry

    /// The topics parameter, listing every topic known now (the contract's and plugins').
    static func descriptors(topics: [String]) -> (subscribe: MethodDescriptor, unsubscribe: MethodDescriptor) {
        (MethodDescriptor("subscribe_events", role: .viewer, summary: "Subscribes the connection to event topics.", params: [
            ParamDescriptor("topics", .array(of: .enumeration(topics), minItems: 1, maxItems: 64), required: true, summary: "topics to add"),
            ParamDescriptor("filters", .object, summary: "exact-match filters on event fields, e.g. {\"device\":\"camera0\"}"),
         ]),
         MethodDescriptor("unsubscribe_events", role: .viewer, summary: "Removes topics (all when omitted).", params: [
            ParamDescriptor("topics", .array(of: .enumeration(topics)), summary: "topics to remove"),
         ]))
    }

    func register(_ r: OwnedRegistry) throws {
        let d = EventMethods.descriptors(topics: EventTopic.all)
        try r.registerInline(d.subscribe) { [events, sessions] call in
            let topics = call.params["topics"]?.arrayValue?.compactMap(\.stringValue) ?? []
            let filters = call.params["filters"]?.objectValue ?? [:]
            // Filters are matched against every event: keep them small and flat.
            guard filters.count <= 16, filters.allSatisfy({ f in
                f.key.utf8.count <= 64 && { if case .string(let v) = f.value { return v.utf8.count <= 256 }; return f.value.arrayValue == nil && f.value.objectValue == nil }()
            }) else {
                throw RPCError.invalidParams(param: "filters", rule: "max_size", detail: "at most 16 filters of short scalar values")
            }
            // A topic above the caller's role is refused, not silently never delivered.
            let role = call.principal?.role ?? .viewer
            if let hidden = topics.first(where: { (events.topics.lookup($0)?.visibleTo ?? .viewer) > role }) {
                throw RPCError.permissionDenied(required: events.topics.lookup(hidden)?.visibleTo ?? .admin, actual: role)
            }
            guard let ref = sessions.state(call.connectionID)?.ref,
                  let now = events.subscribe(ref, topics: topics, filters: filters) else {
                throw RPCError.invalidState("closed", detail: "the connection is closing")
            }
            return .object(["subscribed": true, "topics": .array(now.map(JSONValue.string)), "filters": .object(filters)])
        }

        try r.registerInline(d.unsubscribe) { [events] call in
            let topics = call.params["topics"]?.arrayValue?.compactMap(\.stringValue)
            let removed = events.unsubscribe(call.connectionID, topics: topics)
            return .object(["unsubscribed": true, "topics": .array(removed.map(JSONValue.string))])
        }

        try r.registerInline(MethodDescriptor("get_subscription_stats", role: .viewer, summary: "Subscription counts.")) { [events] call in
            let s = events.stats(for: call.connectionID)
            var counts = JSONObject()
            for (t, n) in s.topicCounts.sorted(by: { $0.key < $1.key }) { counts[t] = .int(n) }
            return .object(["global_stats": .object(["total_subscriptions": .int(s.total), "active_clients": .int(s.clients),
                                                     "topic_counts": .object(counts)]),
                            "client_topics": .array(s.mine.map(JSONValue.string)), "client_id": .string(String(call.connectionID))])
        }
    }

    /// Once plugins have declared their topics: the parameters list them all.
    static func updateTopics(_ methods: MethodTable, topics: [String]) throws {
        let d = descriptors(topics: topics)
        try methods.updateDescriptor("subscribe_events", owner: "core") { _ in d.subscribe }
        try methods.updateDescriptor("unsubscribe_events", owner: "core") { _ in d.unsubscribe }
    }
}
