/// A JSON-RPC error as the client contract defines it: a code, a fixed message per code and a
/// `data` object whose `reason` is machine-readable.
///
/// Throw one from a method handler to answer with that error; anything else a handler throws
/// becomes `-32603 Internal error`.
public struct RPCError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The JSON-RPC error code.
    public var code: Int
    /// The message, fixed per code by the contract.
    public var message: String
    /// Extra fields: `reason` and those each code names.
    public var data: JSONObject

    /// An error with an explicit code and message.
    public init(code: Int, message: String, data: JSONObject = [:]) {
        self.code = code
        self.message = message
        self.data = data
    }

    /// `<code> <message> <data as JSON>`, for logs.
    public var description: String { "\(code) \(message) \(JSONValue.object(data))" }

    /// The error as the JSON-RPC `error` member.
    public var json: JSONValue {
        var o: JSONObject = ["code": .int(code), "message": .string(message)]
        o["data"] = .object(data)
        return .object(o)
    }

    /// `-32700 Parse error`: the message is not valid JSON.
    public static func parseError(_ detail: String) -> RPCError {
        RPCError(code: -32700, message: "Parse error", data: ["reason": "parse_error", "detail": .string(detail)])
    }
    /// `-32600 Invalid Request`: the envelope is wrong.
    public static func invalidRequest(_ detail: String) -> RPCError {
        RPCError(code: -32600, message: "Invalid Request", data: ["reason": "invalid_request", "detail": .string(detail)])
    }
    /// `-32601 Method not found`.
    public static func methodNotFound(_ method: String) -> RPCError {
        RPCError(code: -32601, message: "Method not found", data: ["reason": "method_not_found", "method": .string(method)])
    }
    /// `-32602 Invalid params`, naming the parameter and the rule it broke.
    public static func invalidParams(param: String, rule: String, detail: String? = nil) -> RPCError {
        var d: JSONObject = ["reason": "invalid_params", "param": .string(param), "rule": .string(rule)]
        if let detail { d["detail"] = .string(detail) }
        return RPCError(code: -32602, message: "Invalid params", data: d)
    }
    /// `-32603 Internal error`: a bug, never a client mistake.
    public static func internalError(_ detail: String) -> RPCError {
        RPCError(code: -32603, message: "Internal error", data: ["reason": "internal_error", "detail": .string(detail)])
    }
    /// `-32001 Authentication required`; `reason` is `auth_required`, `auth_failed` or `token_expired`.
    public static func authenticationRequired(reason: String = "auth_required", detail: String? = nil) -> RPCError {
        var d: JSONObject = ["reason": .string(reason)]
        if let detail { d["detail"] = .string(detail) }
        return RPCError(code: -32001, message: "Authentication required", data: d)
    }
    /// `-32002 Permission denied`: the caller's role is below the method's.
    public static func permissionDenied(required: Role, actual: Role) -> RPCError {
        RPCError(code: -32002, message: "Permission denied",
                 data: ["reason": "insufficient_role", "required_role": .string(required.name), "role": .string(actual.name)])
    }
    /// `-32010 Not found`: a camera, file or stream.
    public static func notFound(resource: String, id: String) -> RPCError {
        RPCError(code: -32010, message: "Not found", data: ["reason": "not_found", "resource": .string(resource), "id": .string(id)])
    }
    /// `-32020 Invalid state`, e.g. already recording.
    public static func invalidState(_ state: String, detail: String? = nil) -> RPCError {
        var d: JSONObject = ["reason": "invalid_state", "state": .string(state)]
        if let detail { d["detail"] = .string(detail) }
        return RPCError(code: -32020, message: "Invalid state", data: d)
    }
    /// `-32030 Unsupported`: the capability is disabled or no plugin provides it.
    public static func unsupported(feature: String, detail: String? = nil) -> RPCError {
        var d: JSONObject = ["reason": "unsupported", "feature": .string(feature)]
        if let detail { d["detail"] = .string(detail) }
        return RPCError(code: -32030, message: "Unsupported", data: d)
    }
    /// `-32040 Rate limited`: the connection's request rate (`reason` `rate_limited`).
    public static func rateLimited(retryAfterMs: Int) -> RPCError {
        RPCError(code: -32040, message: "Rate limited", data: ["reason": "rate_limited", "retry_after_ms": .int(retryAfterMs)])
    }
    /// `-32040 Rate limited` by the per-address authentication backoff (`reason`
    /// `auth_backoff`): too many failed authentications from the caller's address.
    public static func authBackoff(retryAfterMs: Int) -> RPCError {
        RPCError(code: -32040, message: "Rate limited",
                 data: ["reason": "auth_backoff", "retry_after_ms": .int(retryAfterMs),
                        "detail": .string("too many failed authentications from this address; retry in \(max(1, (retryAfterMs + 999) / 1000)) s")])
    }
    /// `-32050 Dependency failed`: the media backend or FFmpeg failed.
    public static func dependencyFailed(_ dependency: String, detail: String) -> RPCError {
        RPCError(code: -32050, message: "Dependency failed",
                 data: ["reason": "dependency_failed", "dependency": .string(dependency), "detail": .string(detail)])
    }
    /// `-32060 Insufficient storage`.
    public static func insufficientStorage(usagePercentage: Double, detail: String? = nil) -> RPCError {
        var d: JSONObject = ["reason": "insufficient_storage", "usage_percentage": .double((usagePercentage * 100).rounded() / 100)]
        if let detail { d["detail"] = .string(detail) }
        return RPCError(code: -32060, message: "Insufficient storage", data: d)
    }
}
