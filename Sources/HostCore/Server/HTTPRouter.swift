import PluginAPI
import Synchronization

/// Computes the response to a plain HTTP request.
package enum HTTPRouteImplementation: Sendable {
    /// Fast and non-blocking: runs on the network thread (open routes only).
    case inline(@Sendable (HTTPRouteRequest) -> HTTPRouteResponse)
    /// May suspend: runs in a task.
    case async(HTTPRouteHandler)
}

/// One route: an exact path, or a prefix (ending in `/`) covering every path below it.
package struct HTTPRoute: Sendable {
    package let path: String
    package let isPrefix: Bool
    /// Credentials needed (Bearer or X-API-Key) and the lowest role; nil: open.
    package let minimumRole: Role?
    /// `core` or the plugin's name.
    package let owner: String
    package let summary: String
    package let implementation: HTTPRouteImplementation
}

/// The plain HTTP endpoints: the host's (`/health*`, `/metrics`, `/openrpc.json`, the
/// console) and the plugins' prefixes (`/files/`). Anything else is a 404 JSON body.
package final class HTTPRouter: Sendable {
    private let routes = Mutex<[HTTPRoute]>([])

    package init() {}

    /// Adds a route; a path already served (or a prefix overlapping another) is refused.
    package func add(_ route: HTTPRoute) throws(HTTPRouteError) { try addAll([route]) }

    /// A host route: an exact path, or a prefix when it ends in `/` (`/` itself is exact).
    package func add(_ path: String, role: Role? = nil, summary: String = "", _ implementation: HTTPRouteImplementation) {
        do {
            try add(HTTPRoute(path: path, isPrefix: path.count > 1 && path.hasSuffix("/"), minimumRole: role, owner: "core", summary: summary,
                              implementation: implementation))
        } catch {
            assertionFailure("host routes clash: \(error)")  // the host's own table: a programming error
        }
    }

    /// The route for a request path: an exact match, else the longest prefix.
    package func route(for path: String) -> HTTPRoute? {
        routes.withLock { rs in
            if let exact = rs.first(where: { !$0.isPrefix && $0.path == path }) { return exact }
            return rs.filter { $0.isPrefix && path.hasPrefix($0.path) }.max { $0.path.count < $1.path.count }
        }
    }

    package var all: [HTTPRoute] { routes.withLock { $0 } }

    /// Adds routes all together, or none when one clashes.
    func addAll(_ new: [HTTPRoute]) throws(HTTPRouteError) {
        try routes.withLock { (rs: inout [HTTPRoute]) throws(HTTPRouteError) in
            var combined = rs
            for route in new {
                if let r = combined.first(where: { HTTPRouter.clash($0, route) }) {
                    throw HTTPRouteError(prefix: route.path, problem: "overlaps \(r.path), served by \(r.owner)")
                }
                combined.append(route)
            }
            rs = combined
        }
    }

    static func clash(_ a: HTTPRoute, _ b: HTTPRoute) -> Bool {
        a.path == b.path || (b.isPrefix && a.path.hasPrefix(b.path)) || (a.isPrefix && b.path.hasPrefix(a.path))
    }
}

/// The ``HTTPRouteRegistry`` a plugin gets: prefixes only, stamped with its name, and staged
/// like its methods: they are served only once its activation has succeeded.
final class PluginRouteRegistry: HTTPRouteRegistry {
    let router: HTTPRouter
    let owner: String
    private let pending = Mutex<[HTTPRoute]>([])

    init(router: HTTPRouter, owner: String) {
        self.router = router
        self.owner = owner
    }

    func route(prefix: String, minimumRole: Role?, summary: String, handler: @escaping HTTPRouteHandler) throws {
        guard prefix.hasPrefix("/"), prefix.hasSuffix("/"), prefix.count >= 3, !prefix.contains("//"),
              prefix.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "%") && $0 != UInt8(ascii: "?") }) else {
            throw HTTPRouteError(prefix: prefix, problem: "a prefix must start and end with '/', e.g. /files/, in plain ASCII")
        }
        let route = HTTPRoute(path: prefix, isPrefix: true, minimumRole: minimumRole, owner: owner, summary: summary, implementation: .async(handler))
        // Clashes are reported now, where the plugin registers (the router re-checks at commit).
        if let existing = router.all.first(where: { HTTPRouter.clash($0, route) }) {
            throw HTTPRouteError(prefix: prefix, problem: "overlaps \(existing.path), served by \(existing.owner)")
        }
        try pending.withLock { (p: inout [HTTPRoute]) throws(HTTPRouteError) in
            if let mine = p.first(where: { HTTPRouter.clash($0, route) }) {
                throw HTTPRouteError(prefix: prefix, problem: "overlaps \(mine.path), registered by this plugin")
            }
            p.append(route)
        }
    }

    /// Throws the clash ``commit()`` would meet, without serving anything.
    func checkCommit() throws(HTTPRouteError) {
        let existing = router.all
        for route in pending.withLock({ $0 }) {
            if let r = existing.first(where: { HTTPRouter.clash($0, route) }) {
                throw HTTPRouteError(prefix: route.path, problem: "overlaps \(r.path), served by \(r.owner)")
            }
        }
    }

    /// Serves what was staged (all or nothing).
    func commit() throws(HTTPRouteError) {
        let routes = pending.withLock { p in
            defer { p.removeAll() }
            return p
        }
        try router.addAll(routes)
    }
}
