import PluginAPI
import Synchronization
import WireProtocols

/// Computes the response to a plain HTTP request.
public enum HTTPRouteHandler: Sendable {
    /// Fast and non-blocking: runs on the network thread.
    case inline(@Sendable (HTTPRequest) -> HTTPResponse)
    /// May suspend: runs in a task.
    case async(@Sendable (HTTPRequest) async -> HTTPResponse)
}

/// The plain HTTP endpoints (`/health*`, later `/files/*`, `/metrics`, `/openrpc.json`):
/// exact paths or path prefixes (ending in `/`). Anything else is a 404 JSON body.
public final class HTTPRouter: Sendable {
    private let routes = Mutex<[(path: String, prefix: Bool, handler: HTTPRouteHandler)]>([])

    public init() {}

    /// Adds a route; `path` ending in `/` matches every path below it.
    public func add(_ path: String, _ handler: HTTPRouteHandler) {
        routes.withLock { $0.append((path, path.hasSuffix("/"), handler)) }
    }

    /// The handler for a request path (exact matches first, then the longest prefix).
    public func handler(for path: String) -> HTTPRouteHandler? {
        routes.withLock { rs in
            if let exact = rs.first(where: { !$0.prefix && $0.path == path }) { return exact.handler }
            return rs.filter { $0.prefix && path.hasPrefix($0.path) }.max { $0.path.count < $1.path.count }?.handler
        }
    }

    /// `{"error": message}` with a status.
    public static func error(_ status: Int, _ message: String) -> HTTPResponse {
        .json(status, JSONValue.object(["error": .string(message)]).jsonBytes)
    }
}
