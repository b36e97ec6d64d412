/// A plain HTTP request to a plugin's route (`GET` or `HEAD`; the host answers other methods
/// with 405 and checks credentials and roles before the handler runs).
public struct HTTPRouteRequest: Sendable {
    /// `GET` or `HEAD`.
    public var method: String
    /// The path as sent, percent-encoding kept (decode with ``percentDecodedPath``).
    public var path: String
    /// The query without `?`, or empty.
    public var query: String
    /// Header fields in order; names lower-cased.
    public var headers: [(name: String, value: String)]
    /// Who is calling (routes registered with a role); nil on open routes.
    public var principal: Principal?
    /// The peer's IP address.
    public var remoteHost: String

    /// A request, field by field.
    public init(method: String, path: String, query: String, headers: [(name: String, value: String)], principal: Principal?, remoteHost: String) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.principal = principal
        self.remoteHost = remoteHost
    }

    /// The first value of header `name` (lower-case), or nil.
    public func header(_ name: String) -> String? {
        for h in headers where h.name == name { return h.value }
        return nil
    }

    /// Whether only the head is wanted (the host then sends no body bytes).
    public var isHead: Bool { method == "HEAD" }

    /// The path with `%XX` escapes decoded, as bytes; nil when an escape is malformed.
    /// Check it for `/`, `..`, NUL and control bytes before using it as a name.
    public var percentDecodedPath: [UInt8]? {
        var out: [UInt8] = []
        let bytes = Array(path.utf8)
        var i = 0
        func hex(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: return c - 0x30
            case 0x41...0x46: return c - 0x41 + 10
            case 0x61...0x66: return c - 0x61 + 10
            default: return nil
            }
        }
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "%") {
                guard i + 2 < bytes.count, let h = hex(bytes[i + 1]), let l = hex(bytes[i + 2]) else { return nil }
                out.append(h << 4 | l)
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return out
    }
}

/// Produces a response body chunk by chunk (a live preview, a generated file).
public protocol HTTPBodyStream: AnyObject, Sendable {
    /// The next chunk, or nil at the end. The host asks for the next one only after the last
    /// one was queued for the socket, so a slow client slows the producer (backpressure).
    func next() async throws -> [UInt8]?
    /// The client went away or the server is stopping before the end: release what it holds.
    func cancel()
}

/// The body of a route's response.
public struct HTTPBody: Sendable {
    /// What the host sends (a later minor may add kinds: switch with `@unknown default`).
    public enum Source: Sendable {
        /// Bytes held in memory.
        case bytes([UInt8])
        /// `length` bytes of an open file from `offset`; the host closes `descriptor`.
        case file(descriptor: Int32, offset: Int, length: Int)
        /// A produced body; `length` nil means chunked transfer encoding.
        case stream(any HTTPBodyStream, length: Int?)
    }
    /// For the host, which sends it.
    public let source: Source

    /// No body.
    public static var empty: HTTPBody { HTTPBody(source: .bytes([])) }
    /// A body held in memory (small: error messages, JSON).
    public static func bytes(_ bytes: [UInt8]) -> HTTPBody { HTTPBody(source: .bytes(bytes)) }
    /// `length` bytes of an open file from `offset`, streamed from disk with backpressure,
    /// never held whole in memory. The host takes the descriptor and closes it.
    public static func file(descriptor: Int32, offset: Int, length: Int) -> HTTPBody {
        HTTPBody(source: .file(descriptor: descriptor, offset: offset, length: length))
    }
    /// A produced body; with `contentLength` nil it is sent with chunked transfer encoding.
    public static func stream(_ stream: any HTTPBodyStream, contentLength: Int?) -> HTTPBody {
        HTTPBody(source: .stream(stream, length: contentLength))
    }

    /// The length in bytes when it is known in advance.
    public var contentLength: Int? {
        switch source {
        case .bytes(let b): return b.count
        case .file(_, _, let length): return length
        case .stream(_, let length): return length
        }
    }
}

/// A route's response.
public struct HTTPRouteResponse: Sendable {
    /// The HTTP status code.
    public var status: Int
    /// Headers to send (the host adds `Content-Length` or `Transfer-Encoding`, and `Connection`).
    public var headers: [(String, String)]
    /// The body (``HTTPBody/empty`` by default).
    public var body: HTTPBody

    /// A response with `status`, extra `headers` and `body` (none by default).
    public init(status: Int, headers: [(String, String)] = [], body: HTTPBody = .empty) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A JSON response.
    public static func json(_ status: Int, _ value: JSONValue, headers: [(String, String)] = []) -> HTTPRouteResponse {
        HTTPRouteResponse(status: status, headers: [("Content-Type", "application/json")] + headers, body: .bytes(value.jsonBytes))
    }

    /// `{"error": message}` with `status`, the shape of every error the daemon's HTTP side sends.
    public static func error(_ status: Int, _ message: String, headers: [(String, String)] = []) -> HTTPRouteResponse {
        json(status, .object(["error": .string(message)]), headers: headers)
    }
}

/// Handles requests under a plugin's route prefix.
public typealias HTTPRouteHandler = @Sendable (HTTPRouteRequest) async -> HTTPRouteResponse

/// Thrown by ``HTTPRouteRegistry/route(prefix:minimumRole:summary:handler:)`` for a prefix
/// that is malformed or already served.
public struct HTTPRouteError: Error, Sendable, CustomStringConvertible {
    /// The prefix that was refused.
    public let prefix: String
    /// Why it was refused (malformed, or already served).
    public let problem: String
    /// An error for `prefix` saying what is wrong with it.
    public init(prefix: String, problem: String) {
        self.prefix = prefix
        self.problem = problem
    }
    /// `HTTP route <prefix>: <problem>`.
    public var description: String { "HTTP route \(prefix): \(problem)" }
}

/// Where plugins add HTTP routes on the daemon's port, authenticated like methods:
/// `Authorization: Bearer <JWT or key>` or `X-API-Key: <key>`; 401 without valid
/// credentials, 403 below `minimumRole`, with the same per-IP backoff and audit lines.
public protocol HTTPRouteRegistry: AnyObject, Sendable {
    /// Serves `GET` and `HEAD` for every path under `prefix` (which starts and ends with `/`,
    /// e.g. `/files/`, and must not be taken by the host or another plugin). `minimumRole` nil
    /// means no credentials are needed.
    func route(prefix: String, minimumRole: Role?, summary: String, handler: @escaping HTTPRouteHandler) throws
}
