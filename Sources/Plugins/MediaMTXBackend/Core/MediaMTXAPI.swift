import Codecs
import Glibc
import PluginAPI

/// A failed call to MediaMTX's control API, in MediaMTX's own words when it gave any.
public struct MediaMTXError: Error, Sendable, CustomStringConvertible {
    /// The HTTP status, nil when no response came (unreachable, timed out).
    public let status: Int?
    public let message: String
    public init(status: Int?, message: String) {
        self.status = status
        self.message = message
    }
    /// MediaMTX did not answer: the circuit breaker counts these.
    public var isUnreachable: Bool { status == nil || (status ?? 0) >= 500 }
    public var description: String { status.map { "MediaMTX answered \($0): \(message)" } ?? "MediaMTX unreachable: \(message)" }
}

/// One runtime path, as `/v3/paths/list` reports it (the fields the backend reads).
public struct RuntimePath: Sendable, Equatable {
    public var name: String
    /// `available` (v1.16+), else the deprecated `ready`.
    public var ready: Bool
    public var readyTime: Double?
    /// What publishes (`rtspSession`), nil when nothing does.
    public var sourceType: String?
    public var readers: Int
    /// `outboundBytes` (v1.17+), else `bytesSent`.
    public var bytesSent: Int
    public var tracks: [String]

    public init(name: String, ready: Bool, readyTime: Double?, sourceType: String?, readers: Int, bytesSent: Int, tracks: [String]) {
        self.name = name
        self.ready = ready
        self.readyTime = readyTime
        self.sourceType = sourceType
        self.readers = readers
        self.bytesSent = bytesSent
        self.tracks = tracks
    }

    /// From MediaMTX's JSON; nil when it has no name.
    public init?(json o: JSONObject) {
        guard let name = o["name"]?.stringValue else { return nil }
        self.name = name
        ready = o["available"]?.boolValue ?? o["ready"]?.boolValue ?? false
        readyTime = (o["availableTime"]?.stringValue ?? o["readyTime"]?.stringValue).flatMap(RFC3339.seconds)
        sourceType = o["source"]?.objectValue?["type"]?.stringValue
        readers = o["readers"]?.arrayValue?.count ?? 0
        bytesSent = o["outboundBytes"]?.intValue ?? o["bytesSent"]?.intValue ?? 0
        tracks = o["tracks"]?.arrayValue?.compactMap(\.stringValue) ?? []
    }
}

/// MediaMTX's v3 control API over the SDK's HTTP client. Both reply envelopes are accepted
/// (`{"status":"ok"}` since v1.15.5, an empty 200 before), and errors keep MediaMTX's text.
public final class MediaMTXAPI: Sendable {
    let http: HTTPClient
    public let baseURL: String

    public init(settings: MediaMTXSettings) throws(PluginConfigError) {
        var headers: [(String, String)] = []
        if let user = settings.apiUser, let pass = settings.apiPassword {
            headers.append(("Authorization", "Basic " + Base64.encode(Array("\(user):\(pass)".utf8))))
        }
        do { http = try HTTPClient(baseURL: settings.apiURL, timeout: settings.requestTimeout, headers: headers) } catch {
            throw PluginConfigError(key: "api_url", problem: error.message)
        }
        baseURL = settings.apiURL
    }

    /// `GET /v3/info`: the version and when this MediaMTX started (a change means a restart,
    /// which loses every path the API added).
    public func info() async throws(MediaMTXError) -> (version: String, started: String) {
        let o = try await object("GET", "/v3/info")
        return (o["version"]?.stringValue ?? "", o["started"]?.stringValue ?? "")
    }

    /// Every configured path (`/v3/config/paths/list`, all pages), by name.
    public func configuredPaths() async throws(MediaMTXError) -> [String: JSONObject] {
        var out: [String: JSONObject] = [:]
        for item in try await allPages("/v3/config/paths/list") {
            if let name = item["name"]?.stringValue { out[name] = item }
        }
        return out
    }

    /// Every runtime path (`/v3/paths/list`, all pages), by name.
    public func paths() async throws(MediaMTXError) -> [String: RuntimePath] {
        var out: [String: RuntimePath] = [:]
        for item in try await allPages("/v3/paths/list") {
            if let p = RuntimePath(json: item) { out[p.name] = p }
        }
        return out
    }

    /// One runtime path; nil when MediaMTX has none of that name.
    public func path(_ name: String) async throws(MediaMTXError) -> RuntimePath? {
        do { return RuntimePath(json: try await object("GET", "/v3/paths/get/" + MediaMTXAPI.escape(name))) } catch {
            if error.status == 404 { return nil }
            throw error
        }
    }

    public func addPath(_ name: String, _ body: JSONObject) async throws(MediaMTXError) {
        try await write("POST", "/v3/config/paths/add/" + MediaMTXAPI.escape(name), body)
    }

    /// Replaces the whole configuration of `name` (keys left out return to the defaults; a
    /// missing path is created).
    public func replacePath(_ name: String, _ body: JSONObject) async throws(MediaMTXError) {
        try await write("POST", "/v3/config/paths/replace/" + MediaMTXAPI.escape(name), body)
    }

    public func deletePath(_ name: String) async throws(MediaMTXError) {
        try await write("DELETE", "/v3/config/paths/delete/" + MediaMTXAPI.escape(name), nil)
    }

    // MARK: plumbing

    private func allPages(_ route: String) async throws(MediaMTXError) -> [JSONObject] {
        var items: [JSONObject] = []
        var page = 0
        while true {
            let o = try await object("GET", "\(route)?page=\(page)&itemsPerPage=1000")
            items += o["items"]?.arrayValue?.compactMap(\.objectValue) ?? []
            let pages = o["pageCount"]?.intValue ?? 0
            page += 1
            if page >= pages || page > 1000 { return items }
        }
    }

    private func object(_ method: String, _ target: String) async throws(MediaMTXError) -> JSONObject {
        let r = try await send(method, target, nil)
        guard let value = try? JSONValue.parse(r.body), let o = value.objectValue else {
            throw MediaMTXError(status: r.status, message: "\(method) \(target): not a JSON object: \(r.text.prefix(120))")
        }
        return o
    }

    private func write(_ method: String, _ target: String, _ body: JSONObject?) async throws(MediaMTXError) {
        _ = try await send(method, target, body)
    }

    private func send(_ method: String, _ target: String, _ body: JSONObject?) async throws(MediaMTXError) -> HTTPClientResponse {
        let r: HTTPClientResponse
        do {
            if let body { r = try await http.request(method, target, json: .object(body)) } else { r = try await http.request(method, target) }
        } catch {
            throw MediaMTXError(status: nil, message: error.message)
        }
        guard r.isSuccess else { throw MediaMTXError(status: r.status, message: MediaMTXAPI.errorText(r)) }
        return r
    }

    /// MediaMTX's error text: `{"status":"error","error":"…"}`, `{"error":"…"}`, or plain text.
    static func errorText(_ r: HTTPClientResponse) -> String {
        if let o = (try? JSONValue.parse(r.body))?.objectValue, let e = o["error"]?.stringValue { return e }
        let t = r.text.trimmingCharacters(in: " \n\r")
        return t.isEmpty ? "HTTP \(r.status)" : String(t.prefix(300))
    }

    /// A path name in a URL (our names are `[a-z0-9_]`; anything else is escaped).
    static func escape(_ name: String) -> String {
        var out = ""
        for b in name.utf8 {
            if (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || (b >= 0x30 && b <= 0x39) || b == 0x5F || b == 0x2D || b == 0x2E {
                out.append(Character(UnicodeScalar(b)))
            } else {
                out += "%" + (b < 16 ? "0" : "") + String(b, radix: 16, uppercase: true)
            }
        }
        return out
    }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return String(s)
    }
}

/// RFC 3339 times as MediaMTX writes them (Go's RFC3339Nano, any offset).
public enum RFC3339 {
    /// Seconds since the epoch; nil for anything else.
    public static func seconds(_ s: String) -> Double? {
        let b = Array(s.utf8)
        func num(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= b.count else { return nil }
            var v = 0
            for i in from..<(from + count) {
                guard b[i] >= 0x30, b[i] <= 0x39 else { return nil }
                v = v * 10 + Int(b[i] - 0x30)
            }
            return v
        }
        guard b.count >= 20, let y = num(0, 4), b[4] == 0x2D, let mo = num(5, 2), b[7] == 0x2D, let d = num(8, 2),
              b[10] == 0x54 || b[10] == 0x74, let h = num(11, 2), b[13] == 0x3A, let mi = num(14, 2), b[16] == 0x3A, let sec = num(17, 2) else { return nil }
        var i = 19
        var frac = 0.0
        if i < b.count, b[i] == 0x2E {
            i += 1
            var scale = 0.1
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 {
                frac += Double(b[i] - 0x30) * scale
                scale /= 10
                i += 1
            }
        }
        guard i < b.count else { return nil }
        var offset = 0
        if b[i] == 0x5A || b[i] == 0x7A {
            guard i + 1 == b.count else { return nil }
        } else if b[i] == 0x2B || b[i] == 0x2D, let oh = num(i + 1, 2), i + 3 < b.count, b[i + 3] == 0x3A, let om = num(i + 4, 2), i + 6 == b.count {
            offset = (oh * 3600 + om * 60) * (b[i] == 0x2D ? -1 : 1)
        } else {
            return nil
        }
        guard let t = Timestamp.utc(year: y, month: mo, day: d, hour: h, minute: mi, second: sec) else { return nil }
        return Double(t - offset) + frac
    }
}
