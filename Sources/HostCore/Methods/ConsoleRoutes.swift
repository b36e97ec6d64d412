import Glibc
import PluginAPI

/// The web console: `GET /` is `index.html`, `GET /ui/<file>` its scripts, styles and images,
/// from `server.console_dir`. Plain files, no build step; strict Content-Security-Policy (no
/// inline script, nothing from other origins but the media server's players and streams).
struct ConsoleRoutes {
    let directory: String
    /// `server.websocket_path`, which the console reads from `/ui/config.json`.
    let websocketPath: String

    static let types: [String: String] = [
        "html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8",
        "svg": "image/svg+xml", "png": "image/png", "ico": "image/x-icon", "json": "application/json",
        "webmanifest": "application/manifest+json", "txt": "text/plain; charset=utf-8",
    ]

    /// Scripts and styles from the daemon only; WebSocket and fetch to it (and to the media
    /// server's WHEP/HLS endpoints, on other ports); images from it and from blobs (snapshots).
    static let policy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
        + "connect-src 'self' ws: wss: http: https:; media-src 'self' blob: http: https:; font-src 'self'; manifest-src 'self'; "
        + "base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"

    func register(_ router: HTTPRouter) {
        guard !directory.isEmpty else { return }
        router.add("/", summary: "the web console", .async { [self] request in serve("index.html", request) })
        router.add("/ui/", summary: "the web console's files", .async { [self] request in
            let name = String(request.path.dropFirst("/ui/".count))
            if name == "config.json" { return .json(200, .object(["websocket_path": .string(websocketPath)])) }
            return serve(name, request)
        })
    }

    /// One file of the console directory; names are single plain segments (no traversal).
    func serve(_ name: String, _ request: HTTPRouteRequest) -> HTTPRouteResponse {
        guard !name.isEmpty, name.count <= 128, !name.hasPrefix("."),
              name.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E || $0 == 0x2D || $0 == 0x5F }),
              let ext = name.split(separator: ".").last.map(String.init), let type = ConsoleRoutes.types[ext] else {
            return .error(404, "not found: \(request.path)")
        }
        let fd = open(directory + "/" + name, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .error(404, "not found: \(request.path)") }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            return .error(404, "not found: \(request.path)")
        }
        let etag = "\"\(String(st.st_mtim.tv_sec, radix: 16))-\(String(st.st_size, radix: 16))\""
        var headers: [(String, String)] = [("Content-Type", type), ("Cache-Control", "no-cache"), ("ETag", etag),
                                           ("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer")]
        if ext == "html" {
            headers += [("Content-Security-Policy", ConsoleRoutes.policy), ("X-Frame-Options", "DENY")]
        }
        if request.header("if-none-match") == etag {
            close(fd)
            return HTTPRouteResponse(status: 304, headers: headers)
        }
        return HTTPRouteResponse(status: 200, headers: headers, body: .file(descriptor: fd, offset: 0, length: Int(st.st_size)))
    }
}
