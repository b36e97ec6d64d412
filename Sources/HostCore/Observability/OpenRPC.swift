import PluginAPI

/// Builds the OpenRPC 1.2 document (https://spec.open-rpc.org) from the live method table, so
/// plugin methods are described exactly as registered. Roles and owners ride in `x-` fields.
enum OpenRPC {
    static func document(_ entries: [MethodEntry], topics: [TopicInfo], version: String) -> JSONValue {
        let methods: [JSONValue] = entries.map { e in
            let d = e.descriptor
            var m: JSONObject = ["name": .string(d.name)]
            if !d.summary.isEmpty { m["summary"] = .string(d.summary) }
            m["paramStructure"] = "by-name"
            m["params"] = .array(d.params.map { p in
                var o: JSONObject = ["name": .string(p.name), "required": .bool(p.required), "schema": .object(schema(p.type))]
                if !p.summary.isEmpty { o["description"] = .string(p.summary) }
                return .object(o)
            })
            m["result"] = .object(["name": "result", "schema": .object([:])])
            m["x-required-role"] = d.minimumRole.map { .string($0.name) } ?? "none"
            m["x-provided-by"] = .string(e.owner)
            return .object(m)
        }
        return .object([
            "openrpc": "1.2.6",
            "info": .object(["title": "camera-service", "version": .string(version),
                             "description": "JSON-RPC 2.0 over WebSocket. Errors and roles: docs/api.md."]),
            "methods": .array(methods),
            // OpenRPC has no place for notifications: the event topics ride in an extension.
            "x-events": .array(topics.map { t in
                .object(["name": .string(t.name), "summary": .string(t.summary), "x-visible-to": .string(t.visibleTo.name), "x-provided-by": .string(t.owner)])
            }),
        ])
    }

    /// JSON Schema (draft-07) for a parameter type.
    static func schema(_ t: ParamType) -> JSONObject {
        switch t {
        case .string(let pattern, let minLength, let maxLength):
            var o: JSONObject = ["type": "string"]
            if let pattern { o["pattern"] = .string(pattern) }
            if let minLength { o["minLength"] = .int(minLength) }
            if let maxLength { o["maxLength"] = .int(maxLength) }
            return o
        case .enumeration(let values):
            return ["type": "string", "enum": .array(values.map(JSONValue.string))]
        case .integer(let lo, let hi):
            var o: JSONObject = ["type": "integer"]
            if let lo { o["minimum"] = .int(lo) }
            if let hi { o["maximum"] = .int(hi) }
            return o
        case .number(let lo, let hi):
            var o: JSONObject = ["type": "number"]
            if let lo { o["minimum"] = .double(lo) }
            if let hi { o["maximum"] = .double(hi) }
            return o
        case .boolean:
            return ["type": "boolean"]
        case .array(let item, let minItems, let maxItems):
            var o: JSONObject = ["type": "array", "items": .object(schema(item))]
            if let minItems { o["minItems"] = .int(minItems) }
            if let maxItems { o["maxItems"] = .int(maxItems) }
            return o
        case .object:
            return ["type": "object"]
        case .any:
            return [:]
        @unknown default:
            return [:]
        }
    }
}
