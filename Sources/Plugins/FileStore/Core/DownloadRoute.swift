import Glibc
import PluginAPI

/// `GET`/`HEAD /files/recordings/<name>` and `/files/snapshots/<name>` (the host checks
/// credentials and the viewer role before this runs). The name is percent-decoded and must be a
/// safe plain name (400 otherwise, `%2F`, `%2e%2e`, `%00` and invalid UTF-8 included); the file is
/// opened without following symlinks and must resolve inside the store (404 otherwise). The
/// body is the open descriptor, which the host streams with backpressure.
public struct DownloadRoute: Sendable {
    public static let prefix = "/files/"
    let store: MediaStore

    public init(store: MediaStore) { self.store = store }

    /// Kind and name of a request path, or the status refusing it.
    public enum Target: Equatable, Sendable {
        case file(MediaKind, String)
        case refused(Int, String)
    }

    /// Parses `/files/<kind>/<percent-encoded name>` (pure).
    public static func target(_ path: String) -> Target {
        let raw = Array(path.utf8), prefix = Array(DownloadRoute.prefix.utf8)
        guard raw.starts(with: prefix) else { return .refused(404, "not found") }
        let rest = raw[prefix.count...]
        guard let slash = rest.firstIndex(of: UInt8(ascii: "/")) else { return .refused(404, "not found: \(path)") }
        let kindText = decode(rest[..<slash]).map { String(decoding: $0, as: UTF8.self) }
        guard let kind = kindText.flatMap(MediaKind.init(rawValue:)) else { return .refused(404, "not found: \(path)") }
        let encodedName = rest[(slash + 1)...]
        guard !encodedName.isEmpty else { return .refused(404, "not found: \(path)") }
        guard let decoded = decode(encodedName), let name = MediaName.validated(decoded) else {
            return .refused(400, "unsafe file name: a plain name is needed (no '/', '\\', '..', NUL or control characters)")
        }
        return .file(kind, name)
    }

    /// `%XX` decoded by the SDK's one decoder (``HTTPRouteRequest/percentDecodedPath``).
    static func decode(_ segment: ArraySlice<UInt8>) -> [UInt8]? {
        HTTPRouteRequest(method: "GET", path: String(decoding: segment, as: UTF8.self), query: "", headers: [], principal: nil, remoteHost: "")
            .percentDecodedPath
    }

    public func handle(_ request: HTTPRouteRequest) async -> HTTPRouteResponse {
        let (kind, name): (MediaKind, String)
        switch DownloadRoute.target(request.path) {
        case .refused(let status, let message): return .error(status, message)
        case .file(let k, let n): (kind, name) = (k, n)
        }
        switch await store.openForDownload(kind, name: name) {
        case .failure(.unsafe):
            return .error(400, "unsafe file name")
        case .failure(.notFound):
            return .error(404, "no \(kind == .recordings ? "recording" : "snapshot") named \(name)")
        case .success(let (fd, identity)):
            let plan = DownloadPlan.make(identity) { request.header($0) }
            switch plan.status {
            case 200, 206:
                return HTTPRouteResponse(status: plan.status, headers: plan.headers, body: .file(descriptor: fd, offset: plan.offset, length: plan.length))
            case 416:
                close(fd)
                return .error(416, "range not satisfiable (the file has \(identity.size) bytes)", headers: plan.headers)
            default:
                close(fd)
                return HTTPRouteResponse(status: plan.status, headers: plan.headers)
            }
        }
    }
}
