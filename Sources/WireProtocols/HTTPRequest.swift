/// A parsed HTTP/1.1 request.
public struct HTTPRequest: Sendable, Equatable {
    /// The method, e.g. `GET`.
    public var method: String
    /// The request target as sent (`/health?x=1`).
    public var target: String
    /// The path part of the target, percent-encoding left as is.
    public var path: String
    /// The query part without `?`, or empty.
    public var query: String
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    public var minorVersion: Int
    /// Header fields in order; names lower-cased, values trimmed.
    public var headers: [(name: String, value: String)]
    /// The body (Content-Length bytes).
    public var body: [UInt8]
    /// The peer's IP address, set by the server (not part of the wire format).
    public var remoteHost = ""

    public init(method: String, target: String, minorVersion: Int = 1, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.method = method
        self.target = target
        if let q = target.firstIndex(of: "?") {
            path = String(target[..<q])
            query = String(target[target.index(after: q)...])
        } else {
            path = target
            query = ""
        }
        self.minorVersion = minorVersion
        self.headers = headers.map { (name: $0.0.lowercased(), value: $0.1) }
        self.body = body
    }

    /// The first value of header `name` (lower-case), or nil.
    public func header(_ name: String) -> String? {
        for h in headers where h.name == name { return h.value }
        return nil
    }

    /// Every comma-separated token of header `name`, lower-cased (for `Connection`, `Upgrade`).
    public func headerTokens(_ name: String) -> [String] {
        var out: [String] = []
        for h in headers where h.name == name {
            for part in h.value.split(separator: ",") {
                let t = part.trimmingASCIIWhitespace().lowercased()
                if !t.isEmpty { out.append(t) }
            }
        }
        return out
    }

    /// Whether the connection stays open after the response (HTTP/1.1 default unless
    /// `Connection: close`; HTTP/1.0 only with `keep-alive`).
    public var keepAlive: Bool {
        let tokens = headerTokens("connection")
        if minorVersion >= 1 { return !tokens.contains("close") }
        return tokens.contains("keep-alive")
    }

    public static func == (a: HTTPRequest, b: HTTPRequest) -> Bool {
        a.method == b.method && a.target == b.target && a.minorVersion == b.minorVersion && a.body == b.body
            && a.headers.elementsEqual(b.headers, by: { $0.name == $1.name && $0.value == $1.value })
    }
}

extension Substring {
    /// The substring without leading and trailing spaces and tabs.
    func trimmingASCIIWhitespace() -> Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return s
    }
}
