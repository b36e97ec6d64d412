import Codecs
import PluginAPI

/// The server side of the RFC 6455 §4.2 opening handshake, as a pure function of the request.
public enum WebSocketHandshake {
    /// The GUID RFC 6455 appends to the client's key.
    public static let guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// What to do with an upgrade request.
    public enum Outcome: Equatable, Sendable {
        /// Send this 101 response and switch the connection to WebSocket.
        case accept(HTTPResponse)
        /// Send this refusal (400, 403, 405, 426) and close.
        case reject(HTTPResponse)

        public static func == (a: Outcome, b: Outcome) -> Bool {
            switch (a, b) {
            case (.accept(let x), .accept(let y)), (.reject(let x), .reject(let y)): return x.status == y.status
            default: return false
            }
        }
    }

    /// Whether the request asks for a WebSocket upgrade at all.
    public static func isUpgradeRequest(_ r: HTTPRequest) -> Bool {
        r.headerTokens("upgrade").contains("websocket")
    }

    /// Checks every rule of §4.2.1 and the Origin policy (an empty `allowedOrigins` allows all;
    /// a request without Origin, i.e. not from a browser, is always allowed).
    public static func respond(to r: HTTPRequest, allowedOrigins: [String]) -> Outcome {
        func refuse(_ status: Int, _ message: String, extra: [(String, String)] = []) -> Outcome {
            let body = JSONValue.object(["error": .string(message)]).jsonBytes
            return .reject(HTTPResponse(status: status, headers: [("Content-Type", "application/json")] + extra, body: body))
        }
        guard r.method == "GET" else { return refuse(405, "WebSocket upgrade requires GET", extra: [("Allow", "GET")]) }
        guard r.minorVersion >= 1 else { return refuse(400, "WebSocket upgrade requires HTTP/1.1") }
        guard r.header("host") != nil else { return refuse(400, "missing Host header") }
        guard r.headerTokens("upgrade").contains("websocket") else { return refuse(400, "missing 'Upgrade: websocket'") }
        guard r.headerTokens("connection").contains("upgrade") else { return refuse(400, "missing 'Connection: Upgrade'") }
        guard r.header("sec-websocket-version") == "13" else {
            return refuse(426, "unsupported WebSocket version (13 required)", extra: [("Sec-WebSocket-Version", "13")])
        }
        guard let key = r.header("sec-websocket-key"), let raw = Base64.decode(key), raw.count == 16 else {
            return refuse(400, "missing or malformed Sec-WebSocket-Key")
        }
        if !allowedOrigins.isEmpty, let origin = r.header("origin"), !allowedOrigins.contains(origin) {
            return refuse(403, "origin not allowed")
        }
        return .accept(HTTPResponse(status: 101, headers: [
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Accept", acceptValue(forKey: key)),
        ]))
    }

    /// base64(SHA-1(key + GUID)).
    public static func acceptValue(forKey key: String) -> String {
        Base64.encode(Digest.sha1(Array((key + guid).utf8)))
    }
}
