/// An HTTP response to serialize.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A JSON response.
    public static func json(_ status: Int, _ body: [UInt8]) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/json")], body: body)
    }

    /// The status line, headers (with Content-Length and Connection) and body, as bytes.
    /// `headOnly` leaves the body out (HEAD requests) but keeps its length.
    public func serialize(keepAlive: Bool, headOnly: Bool = false) -> [UInt8] {
        var out = serializeHead(contentLength: body.count, keepAlive: keepAlive)
        if !headOnly { out.append(contentsOf: body) }
        return out
    }

    /// The status line and headers only, for a body sent separately: `Content-Length` is
    /// `contentLength` unless the headers already say (nil: none, e.g. chunked).
    public func serializeHead(contentLength: Int?, keepAlive: Bool) -> [UInt8] {
        var s = "HTTP/1.1 \(status) \(HTTPResponse.reasonPhrase(status))\r\n"
        var hasLength = false
        for (k, v) in headers {
            if k.lowercased() == "content-length" || k.lowercased() == "transfer-encoding" { hasLength = true }
            s += "\(k): \(v)\r\n"
        }
        if !hasLength, let contentLength, status != 101 && status != 204 && status != 304 { s += "Content-Length: \(contentLength)\r\n" }
        if status != 101 { s += keepAlive ? "Connection: keep-alive\r\n" : "Connection: close\r\n" }
        s += "\r\n"
        return Array(s.utf8)
    }

    /// The standard reason phrase.
    public static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 101: return "Switching Protocols"
        case 200: return "OK"
        case 204: return "No Content"
        case 206: return "Partial Content"
        case 304: return "Not Modified"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 408: return "Request Timeout"
        case 413: return "Content Too Large"
        case 414: return "URI Too Long"
        case 416: return "Range Not Satisfiable"
        case 426: return "Upgrade Required"
        case 429: return "Too Many Requests"
        case 431: return "Request Header Fields Too Large"
        case 500: return "Internal Server Error"
        case 501: return "Not Implemented"
        case 503: return "Service Unavailable"
        case 505: return "HTTP Version Not Supported"
        default: return "Status \(status)"
        }
    }
}
