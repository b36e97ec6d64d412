import PluginAPI

/// One member of an incoming JSON-RPC message, after the envelope checks.
public enum JSONRPCItem: Sendable, Equatable {
    /// A well-formed call; `id` nil means a notification (run it, send nothing back).
    case call(id: JSONValue?, method: String, params: JSONValue?)
    /// A malformed envelope: answer `error` with `id` (null when it could not be read).
    case invalid(id: JSONValue, error: RPCError)
}

/// An incoming message, classified.
public enum JSONRPCMessage: Sendable, Equatable {
    case single(JSONRPCItem)
    /// A non-empty batch: answer with one array holding the replies to non-notifications
    /// (and send nothing if there are none).
    case batch([JSONRPCItem])
    /// Unparsable JSON or an empty batch: send this one error with id null.
    case rejected(RPCError)
}

/// JSON-RPC 2.0 framing (https://www.jsonrpc.org/specification), sans I/O.
public enum JSONRPC {
    /// Classifies a text message.
    public static func decode(_ bytes: [UInt8], maxDepth: Int = 64) -> JSONRPCMessage {
        let value: JSONValue
        do {
            value = try JSONValue.parse(bytes, maxDepth: maxDepth)
        } catch {
            return .rejected(.parseError(error.description))
        }
        switch value {
        case .array(let items):
            guard !items.isEmpty else { return .rejected(.invalidRequest("empty batch")) }
            return .batch(items.map(item))
        default:
            return .single(item(value))
        }
    }

    /// Checks one envelope (§4 of the spec).
    public static func item(_ v: JSONValue) -> JSONRPCItem {
        guard case .object(let o) = v else { return .invalid(id: .null, error: .invalidRequest("request must be an object")) }
        var id: JSONValue? = nil
        if let rawID = o["id"] {
            switch rawID {
            case .string, .int, .double, .null: id = rawID
            default: return .invalid(id: .null, error: .invalidRequest("id must be a string, a number or null"))
            }
        }
        let replyID = id ?? .null
        guard o["jsonrpc"] == .string("2.0") else {
            return .invalid(id: replyID, error: .invalidRequest("'jsonrpc' must be \"2.0\""))
        }
        guard let method = o["method"]?.stringValue else {
            return .invalid(id: replyID, error: .invalidRequest("'method' must be a string"))
        }
        let params = o["params"]
        if let p = params {
            switch p {
            case .object, .array: break
            default: return .invalid(id: replyID, error: .invalidRequest("'params' must be an object or an array"))
            }
        }
        return .call(id: id, method: method, params: params)
    }

    /// Appends `{"jsonrpc":"2.0","id":…,"result":…}`.
    public static func appendResult(id: JSONValue, result: JSONValue, to out: inout [UInt8]) {
        out.append(contentsOf: prefix)
        id.write(to: &out)
        out.append(contentsOf: resultKey)
        result.write(to: &out)
        out.append(UInt8(ascii: "}"))
    }

    /// Appends `{"jsonrpc":"2.0","id":…,"error":{code,message,data}}`.
    public static func appendError(id: JSONValue, error: RPCError, to out: inout [UInt8]) {
        out.append(contentsOf: prefix)
        id.write(to: &out)
        out.append(contentsOf: errorKey)
        error.json.write(to: &out)
        out.append(UInt8(ascii: "}"))
    }

    /// Appends a notification `{"jsonrpc":"2.0","method":…,"params":…}`.
    public static func appendNotification(method: String, params: JSONObject, to out: inout [UInt8]) {
        out.append(contentsOf: notificationPrefix)
        JSONValue.writeString(method, to: &out)
        out.append(contentsOf: paramsKey)
        params.write(to: &out)
        out.append(UInt8(ascii: "}"))
    }

    static let prefix = Array(#"{"jsonrpc":"2.0","id":"#.utf8)
    static let resultKey = Array(#","result":"#.utf8)
    static let errorKey = Array(#","error":"#.utf8)
    static let notificationPrefix = Array(#"{"jsonrpc":"2.0","method":"#.utf8)
    static let paramsKey = Array(#","params":"#.utf8)
}
