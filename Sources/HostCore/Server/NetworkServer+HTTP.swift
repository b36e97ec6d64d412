import Glibc
import PluginAPI
import WireProtocols

/// Plain HTTP on a connection: requests in order (pipelined ones wait), routing with the
/// routes' credentials and roles, the WebSocket upgrade, and responses whose bodies are bytes,
/// a file streamed from disk, or a producer, sent with backpressure.
extension NetworkServer {
    /// How much of a streamed body may wait in a connection's queue before the next chunk is produced.
    static let bodyLowWater = 256 * 1024

    func httpRequests(_ c: Connection) {
        while c.lifecycle.acceptsWork, !c.lifecycle.isResponding, c.body == nil, c.http != nil {
            let request: HTTPRequest?
            do { request = try c.http?.next() } catch {
                respond(c, .error(error.status, error.reason), keepAlive: false, headOnly: false)
                return
            }
            guard var request else {
                if (c.http?.bufferedBytes ?? 0) > 0 { c.lifecycle.requestStarted(deadline: HostClock.monotonic() + settings.requestTimeout) }
                return
            }
            request.remoteHost = c.remoteHost
            if request.path == settings.websocketPath {
                if WebSocketHandshake.isUpgradeRequest(request) || request.header("sec-websocket-key") != nil {
                    upgrade(c, request)
                } else {
                    // RFC 6455 §4.2.2 / RFC 9110 §15.5.22: this resource speaks WebSocket only.
                    respond(c, .error(426, "\(settings.websocketPath) is a WebSocket endpoint; send an Upgrade: websocket request",
                                      headers: [("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13")]),
                            keepAlive: request.keepAlive && !draining, headOnly: request.method == "HEAD")
                }
                return
            }
            route(c, request)
        }
    }

    private func upgrade(_ c: Connection, _ request: HTTPRequest) {
        switch WebSocketHandshake.respond(to: request, allowedOrigins: settings.allowedOrigins) {
        case .reject(let response):
            append(c, response.serialize(keepAlive: false))
            c.lifecycle.responseQueued(keepAlive: false, idleDeadline: 0, now: HostClock.monotonic())
        case .accept(let response):
            append(c, response.serialize(keepAlive: true))
            c.framesStart = c.out.count
            let leftover = c.http?.takeRemainder() ?? []
            c.http = nil
            let now = HostClock.monotonic()
            let limit = c.authenticated ? settings.maxMessageBytes : settings.unauthenticatedMaxMessageBytes
            c.ws = WebSocketSession(limits: WebSocketLimits(maxMessageBytes: limit), initialBytes: leftover)
            c.keepalive = WebSocketKeepalive(interval: settings.pingInterval, timeout: settings.pingTimeout, now: now)
            if !c.authenticated { c.authDeadline = now + settings.authTimeout }
            c.requestHost = request.header("host").map(NetworkServer.hostName)
            c.lifecycle.upgraded()
            observer.upgraded(c.ref, requestHost: c.requestHost)
            if !leftover.isEmpty { websocketEvents(c) }
        }
    }

    /// `camera.local:8002` → `camera.local`; `[::1]:8002` → `::1`.
    static func hostName(_ header: String) -> String {
        if header.hasPrefix("["), let close = header.firstIndex(of: "]") {
            return String(header[header.index(after: header.startIndex)..<close])
        }
        if let colon = header.lastIndex(of: ":"), !header[..<colon].contains(":") { return String(header[..<colon]) }
        return header
    }

    private func route(_ c: Connection, _ request: HTTPRequest) {
        let keepAlive = request.keepAlive && !draining
        let headOnly = request.method == "HEAD"
        guard let route = router.route(for: request.path) else {
            respond(c, .error(404, "not found: \(request.path)"), keepAlive: keepAlive, headOnly: headOnly)
            return
        }
        guard request.method == "GET" || request.method == "HEAD" else {
            respond(c, .error(405, "method \(request.method) not allowed", headers: [("Allow", "GET, HEAD")]), keepAlive: keepAlive, headOnly: false)
            return
        }
        let routeRequest = HTTPRouteRequest(method: request.method, path: request.path, query: request.query, headers: request.headers,
                                            principal: nil, remoteHost: c.remoteHost)
        if case .inline(let h) = route.implementation, route.minimumRole == nil {
            respond(c, h(routeRequest), keepAlive: keepAlive, headOnly: headOnly)
            return
        }
        c.lifecycle.responseStarted()
        let ref = c.ref
        let handle = self.handle
        let authorizer = self.authorizer
        Task {
            var routed = routeRequest
            var authorized = false
            if let role = route.minimumRole {
                switch await authorizer.authorize(routeRequest, minimum: role) {
                case .refused(let response):
                    handle.post(.httpResponse(ref, response, keepAlive: keepAlive, headOnly: headOnly, authorized: false))
                    return
                case .allowed(let principal):
                    routed.principal = principal
                    authorized = true
                }
            }
            let response: HTTPRouteResponse
            switch route.implementation {
            case .inline(let h): response = h(routed)
            case .async(let h): response = await h(routed)
            }
            handle.post(.httpResponse(ref, response, keepAlive: keepAlive, headOnly: headOnly, authorized: authorized))
        }
    }

    /// Queues a response: the head, then the body as its kind says.
    func respond(_ c: Connection, _ r: HTTPRouteResponse, keepAlive: Bool, headOnly: Bool) {
        let now = HostClock.monotonic()
        var head = HTTPResponse(status: r.status, headers: r.headers)
        let length = r.body.contentLength
        let bodyless = headOnly || r.status == 204 || r.status == 304
        if length == nil { head.headers.append(("Transfer-Encoding", "chunked")) }
        switch r.body.source {
        case .bytes(let bytes):
            head.body = bytes
            append(c, head.serialize(keepAlive: keepAlive, headOnly: bodyless))
        case .file(let fd, let offset, let count):
            append(c, head.serializeHead(contentLength: count, keepAlive: keepAlive))
            let reader = FileBodyReader(descriptor: fd, offset: offset, length: count)
            if bodyless || count == 0 { reader.finish() } else { c.body = BodyTransfer(source: .file(reader), keepAlive: keepAlive) }
        case .stream(let stream, let count):
            append(c, head.serializeHead(contentLength: count, keepAlive: keepAlive))
            if bodyless { stream.cancel() } else { c.body = BodyTransfer(source: .stream(stream, chunked: count == nil), keepAlive: keepAlive) }
        @unknown default:
            append(c, HTTPResponse.json(500, JSONValue.object(["error": "unsupported response body"]).jsonBytes).serialize(keepAlive: false))
            c.lifecycle.responseQueued(keepAlive: false, idleDeadline: 0, now: now)
            return
        }
        if c.body != nil {
            c.lifecycle.responseStarted()
            pumpBody(c)
        } else {
            c.lifecycle.responseQueued(keepAlive: keepAlive, idleDeadline: now + settings.idleTimeout, now: now)
        }
    }

    /// Asks for the next chunk when the queue has room and none is being produced.
    func pumpBody(_ c: Connection) {
        guard let body = c.body, !body.inFlight, c.pendingBytes < NetworkServer.bodyLowWater else { return }
        body.inFlight = true
        let ref = c.ref
        let handle = self.handle
        switch body.source {
        case .file(let reader):
            Task {
                let chunk = reader.next()
                handle.post(.bodyChunk(ref, chunk.map { $0.isEmpty ? .end : .data($0) } ?? .failed))
            }
        case .stream(let stream, _):
            Task {
                do {
                    let chunk = try await stream.next()
                    handle.post(.bodyChunk(ref, chunk.map(BodyChunk.data) ?? .end))
                } catch {
                    handle.post(.bodyChunk(ref, .failed))
                }
            }
        }
    }

    func bodyChunkArrived(_ c: Connection, _ chunk: BodyChunk) {
        guard let body = c.body else { return }
        body.inFlight = false
        let chunked: Bool
        if case .stream(_, let ch) = body.source { chunked = ch } else { chunked = false }
        switch chunk {
        case .data(let bytes):
            guard !bytes.isEmpty else { break }
            if chunked {
                c.out.append(contentsOf: Array((String(bytes.count, radix: 16) + "\r\n").utf8))
                c.out.append(contentsOf: bytes)
                c.out.append(contentsOf: [13, 10])
            } else {
                c.out.append(contentsOf: bytes)
            }
        case .end:
            if chunked { c.out.append(contentsOf: Array("0\r\n\r\n".utf8)) }
            if case .file(let reader) = body.source { reader.finish() }
            c.body = nil
            let now = HostClock.monotonic()
            c.lifecycle.responseQueued(keepAlive: body.keepAlive, idleDeadline: now + settings.idleTimeout, now: now)
        case .failed:
            // The length promised cannot be kept: end the connection after what was sent.
            logger.warning("connection \(c.id) (\(c.remote)): response body failed; closing")
            body.cancel()
            c.body = nil
            c.lifecycle.closeFrameQueued(now: HostClock.monotonic())
        }
        flush(c)
        guard isLive(c) else { return }
        if c.body != nil { pumpBody(c) } else {
            httpRequests(c)
            flush(c)
        }
        if isLive(c) { refreshInterest(c) }
    }
}

/// A chunk of a streamed body, handed back to the network thread.
enum BodyChunk: Sendable {
    case data([UInt8])
    case end
    case failed
}

/// Releases what a response body holds when it will never be sent (the connection is gone).
enum HTTPBodyRelease {
    static func discard(_ body: HTTPBody) {
        switch body.source {
        case .bytes: break
        case .file(let fd, _, _): close(fd)
        case .stream(let s, _): s.cancel()
        @unknown default: break
        }
    }
}
