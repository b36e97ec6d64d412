import CLinux
import Glibc
import PluginAPI
import WireProtocols

/// Settings the network thread needs (from `server.*` and `security.*`).
public struct NetworkSettings: Sendable {
    public var host: String
    public var port: Int
    public var websocketPath: String
    public var maxConnections: Int
    public var maxMessageBytes: Int
    public var maxOutboundBytes: Int
    public var pingInterval: Double
    public var pingTimeout: Double
    public var requestTimeout: Double
    public var idleTimeout: Double
    public var shutdownTimeout: Double
    public var allowedOrigins: [String]
    public var tlsCertFile: String?
    public var tlsKeyFile: String?

    public init(_ c: ServiceConfig) {
        host = c.server.host
        port = c.server.port
        websocketPath = c.server.websocketPath
        maxConnections = c.server.maxConnections
        maxMessageBytes = c.server.maxMessageBytes
        maxOutboundBytes = c.server.maxOutboundBytes
        pingInterval = c.server.pingInterval
        pingTimeout = c.server.pingTimeout
        requestTimeout = c.server.requestTimeout
        idleTimeout = c.server.idleTimeout
        shutdownTimeout = c.server.shutdownTimeout
        allowedOrigins = c.security.allowedOrigins
        tlsCertFile = c.server.tlsCertFile.map { FileIO.resolve($0, against: c.sourceFile.map(FileIO.dirname) ?? ".") }
        tlsKeyFile = c.server.tlsKeyFile.map { FileIO.resolve($0, against: c.sourceFile.map(FileIO.dirname) ?? ".") }
    }
}

/// Tells the rest of the host about connections coming and going (sessions, events, metrics).
public protocol ConnectionObserver: Sendable {
    func opened(_ ref: ConnectionRef, remoteHost: String)
    func upgraded(_ ref: ConnectionRef)
    func closed(_ ref: ConnectionRef)
    func rejected(reason: String)
    /// A notification could not be queued (connection closing or gone).
    func notificationDropped()
}

/// The network thread: one epoll loop that accepts, reads, parses (HTTP, then WebSocket),
/// dispatches JSON-RPC and writes. One thread, because requests cost microseconds and the
/// server is pinned to one core in the benchmarks; slow work runs in tasks, whose replies
/// come back through ``LoopHandle``.
final class NetworkServer {
    let settings: NetworkSettings
    let dispatcher: RPCDispatcher
    let router: HTTPRouter
    let observer: any ConnectionObserver
    let logger: Logger
    let handle: LoopHandle
    let listenFD: Int32
    let epfd: Int32
    private var connections: [Connection?]
    private var liveCount = 0
    private var nextID: UInt64 = 1
    private let readBuffer: UnsafeMutableRawBufferPointer
    /// Present when `server.tls` is configured: every connection is then TLS.
    private let tls: TLSContext?
    private var draining = false
    private var drainDeadline = 0.0
    private var finished = false
    private var nextTick = 0.0
    /// Timer resolution: 1 s, finer when pings are more frequent (so a 1 s interval means ~1 s).
    private let tickPeriod: Double

    init(settings: NetworkSettings, listenFD: Int32, handle: LoopHandle, dispatcher: RPCDispatcher, router: HTTPRouter,
         observer: any ConnectionObserver, logger: Logger) throws {
        self.settings = settings
        self.listenFD = listenFD
        self.handle = handle
        self.dispatcher = dispatcher
        self.router = router
        self.observer = observer
        self.logger = logger
        tickPeriod = min(1.0, settings.pingInterval / 4)
        if let cert = settings.tlsCertFile, let key = settings.tlsKeyFile {
            tls = try TLSContext(certFile: cert, keyFile: key)
        } else {
            tls = nil
        }
        epfd = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epfd >= 0 else { throw SystemError("epoll_create1") }
        var lim = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &lim)
        connections = Array(repeating: nil, count: Int(min(lim.rlim_cur, 1 << 20)) + 16)
        readBuffer = .allocate(byteCount: 64 * 1024, alignment: 16)
        try add(listenFD, events: EPOLLIN.rawValue)
        try add(handle.wakeFD, events: EPOLLIN.rawValue)
    }

    deinit { readBuffer.deallocate() }

    private func add(_ fd: Int32, events: UInt32) throws(SystemError) {
        var ev = epoll_event()
        ev.events = events
        ev.data.fd = fd
        guard epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == 0 else { throw SystemError("epoll_ctl add") }
    }

    private func modify(_ fd: Int32, events: UInt32) {
        var ev = epoll_event()
        ev.events = events
        ev.data.fd = fd
        epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev)
    }

    // MARK: loop

    /// Runs until shutdown has finished.
    func run() {
        var events = [epoll_event](repeating: epoll_event(), count: 512)
        nextTick = Clock.monotonic() + tickPeriod
        while !finished {
            let now = Clock.monotonic()
            let timeoutMs = draining ? 50 : max(0, Int32((nextTick - now) * 1000) + 1)
            let n = events.withUnsafeMutableBufferPointer { epoll_wait(epfd, $0.baseAddress, Int32($0.count), timeoutMs) }
            if n < 0 && errno != EINTR {
                logger.error("epoll_wait failed: \(SystemError("epoll_wait"))")
                break
            }
            for i in 0..<max(0, Int(n)) {
                let fd = events[i].data.fd
                let ev = events[i].events
                if fd == listenFD {
                    acceptAll()
                } else if fd == handle.wakeFD {
                    for job in handle.take() { perform(job) }
                } else if fd >= 0, Int(fd) < connections.count, let c = connections[Int(fd)] {
                    if ev & EPOLLOUT.rawValue != 0 { flush(c) }
                    if ev & (EPOLLIN.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue | EPOLLRDHUP.rawValue) != 0, connections[Int(fd)] === c {
                        readable(c)
                    }
                }
            }
            let after = Clock.monotonic()
            if after >= nextTick {
                tick(after)
                nextTick = after + tickPeriod
            }
            if draining { progressShutdown(after) }
        }
        for case let c? in connections { drop(c) }
        close(epfd)
    }

    // MARK: accept

    private func acceptAll() {
        for _ in 0..<128 {
            var addr = sockaddr_storage()
            var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let fd = withUnsafeMutablePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    accept4(listenFD, $0, &len, Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
                }
            }
            if fd < 0 {
                if errno == EMFILE || errno == ENFILE {
                    logger.warning("accept: out of file descriptors (\(liveCount) connections open)")
                    observer.rejected(reason: "fd_limit")
                }
                return
            }
            guard Int(fd) < connections.count, !draining, liveCount < settings.maxConnections + 64 else {
                // Far beyond the limit (or shutting down): no room even for a 503.
                close(fd)
                observer.rejected(reason: draining ? "shutting_down" : "over_limit")
                continue
            }
            Sockets.setNoDelay(fd)
            let peer = Sockets.describe(&addr)
            let c = Connection(fd: fd, id: nextID, remoteHost: peer.host, remotePort: peer.port, deadline: Clock.monotonic() + settings.requestTimeout)
            nextID += 1
            c.http = HTTPParser(limits: HTTPLimits(maxBodyBytes: 64 * 1024))
            if let tls {
                guard let session = TLSSession(tls) else {
                    close(fd)
                    continue
                }
                c.tls = session
            }
            c.overLimit = liveCount >= settings.maxConnections
            do { try add(fd, events: EPOLLIN.rawValue | EPOLLRDHUP.rawValue) } catch {
                close(fd)
                continue
            }
            connections[Int(fd)] = c
            liveCount += 1
            if !c.overLimit { observer.opened(c.ref, remoteHost: c.remoteHost) }
        }
    }

    // MARK: read

    private func readable(_ c: Connection) {
        let n = recv(c.fd, readBuffer.baseAddress, readBuffer.count, 0)
        if n == 0 {
            drop(c)
            return
        }
        if n < 0 {
            if errno != EAGAIN && errno != EINTR { drop(c) }
            return
        }
        let bytes = UnsafeRawBufferPointer(rebasing: readBuffer[0..<n])
        if let session = c.tls {
            let plain = session.receive(bytes)
            c.tlsOut.append(contentsOf: session.takeOutput())  // handshake records
            if let failure = session.failure {
                logger.debug("closing connection \(c.id) (\(c.remote)): \(failure)")
                c.closeAfterFlush = true
                c.deadline = Clock.monotonic() + 2
            }
            if !plain.isEmpty { plain.withUnsafeBytes { process(c, $0) } }
        } else {
            process(c, bytes)
        }
        if connections[Int(c.fd)] === c {
            flush(c)
            if connections[Int(c.fd)] === c { refreshInterest(c) }
        }
    }

    /// Plaintext from the client, to the protocol the connection speaks now.
    private func process(_ c: Connection, _ bytes: UnsafeRawBufferPointer) {
        if c.ws != nil {
            c.keepalive?.heard(at: Clock.monotonic())
            c.ws?.feed(bytes)
            websocketEvents(c)
        } else {
            c.http?.feed(bytes)
            httpRequests(c)
        }
    }

    private func websocketEvents(_ c: Connection) {
        while let event = c.ws?.next() {
            switch event {
            case .message(let text):
                guard !draining, !c.closeAfterFlush else { continue }  // shutting down or closing: no new work
                c.messageSeq += 1
                let ref = c.ref
                let handle = self.handle
                switch dispatcher.handle(text, connection: c.id, sequence: c.messageSeq, deliver: { handle.post(.rpcReply(ref, $0)) }) {
                case .reply(let bytes): appendText(c, bytes)
                case .none: break
                case .pending: c.pendingCalls += 1
                }
            case .send(let frame):
                append(c, frame)
            case .closed(_, let reply):
                if let reply { append(c, reply) }
                // RFC 6455 §7.1.1: the server closes the TCP connection first.
                c.closeAfterFlush = true
                c.deadline = Clock.monotonic() + 2
                return
            case .failed(let code, let reason, let frame):
                logger.debug("closing connection \(c.id) (\(c.remote)): \(code) \(reason)")
                append(c, frame)
                c.closeAfterFlush = true
                c.deadline = Clock.monotonic() + 2
                return
            }
        }
    }

    private func httpRequests(_ c: Connection) {
        while !c.httpBusy, !c.closeAfterFlush, c.http != nil {
            let request: HTTPRequest?
            do { request = try c.http?.next() } catch {
                respond(c, HTTPRouter.error(error.status, error.reason), keepAlive: false, headOnly: false)
                return
            }
            guard var request else { return }
            request.remoteHost = c.remoteHost
            c.deadline = Clock.monotonic() + settings.idleTimeout
            if c.overLimit {
                var r = HTTPRouter.error(503, "too many connections (limit \(settings.maxConnections))")
                r.headers.append(("Retry-After", "1"))
                respond(c, r, keepAlive: false, headOnly: false)
                observer.rejected(reason: "max_connections")
                return
            }
            if request.path == settings.websocketPath && (WebSocketHandshake.isUpgradeRequest(request) || request.header("sec-websocket-key") != nil) {
                upgrade(c, request)
                return
            }
            route(c, request)
        }
    }

    private func upgrade(_ c: Connection, _ request: HTTPRequest) {
        switch WebSocketHandshake.respond(to: request, allowedOrigins: settings.allowedOrigins) {
        case .reject(let response):
            respond(c, response, keepAlive: false, headOnly: false)
        case .accept(let response):
            append(c, response.serialize(keepAlive: true))
            c.framesStart = c.out.count
            let leftover = c.http?.takeRemainder() ?? []
            c.http = nil
            c.ws = WebSocketSession(limits: WebSocketLimits(maxMessageBytes: settings.maxMessageBytes), initialBytes: leftover)
            c.keepalive = WebSocketKeepalive(interval: settings.pingInterval, timeout: settings.pingTimeout, now: Clock.monotonic())
            observer.upgraded(c.ref)
            if !leftover.isEmpty { websocketEvents(c) }
        }
    }

    private func route(_ c: Connection, _ request: HTTPRequest) {
        let keepAlive = request.keepAlive && !draining
        let headOnly = request.method == "HEAD"
        guard let handler = router.handler(for: request.path) else {
            respond(c, HTTPRouter.error(404, "not found: \(request.path)"), keepAlive: keepAlive, headOnly: headOnly)
            return
        }
        guard request.method == "GET" || request.method == "HEAD" else {
            var r = HTTPRouter.error(405, "method \(request.method) not allowed")
            r.headers.append(("Allow", "GET, HEAD"))
            respond(c, r, keepAlive: keepAlive, headOnly: false)
            return
        }
        switch handler {
        case .inline(let h):
            respond(c, h(request), keepAlive: keepAlive, headOnly: headOnly)
        case .async(let h):
            c.httpBusy = true
            let ref = c.ref
            let handle = self.handle
            Task { handle.post(.httpResponse(ref, await h(request), keepAlive: keepAlive, headOnly: headOnly)) }
        }
    }

    private func respond(_ c: Connection, _ r: HTTPResponse, keepAlive: Bool, headOnly: Bool) {
        append(c, r.serialize(keepAlive: keepAlive, headOnly: headOnly))
        if !keepAlive {
            c.closeAfterFlush = true
            c.deadline = Clock.monotonic() + 2
        }
    }

    // MARK: write

    private func appendText(_ c: Connection, _ payload: [UInt8]) {
        payload.withUnsafeBytes { WebSocketFrameEncoder.append(opcode: .text, payload: $0, to: &c.out) }
        checkOutbound(c)
    }

    private func append(_ c: Connection, _ bytes: [UInt8]) {
        c.out.append(contentsOf: bytes)
        checkOutbound(c)  // pongs and pipelined HTTP responses count against the bound too
    }

    /// A client that does not read its replies: close it with 1008 rather than buffer forever.
    private func checkOutbound(_ c: Connection) {
        guard c.pendingBytes > settings.maxOutboundBytes, !c.closeAfterFlush else { return }
        logger.warning("closing connection \(c.id) (\(c.remote)): outbound queue over \(settings.maxOutboundBytes) bytes (slow reader)")
        observer.rejected(reason: "slow_consumer")
        if c.ws != nil, let keep = frameBoundary(c), let frame = c.ws?.initiateClose(code: WebSocketCloseCode.policyViolation, reason: "outbound queue full") {
            // Finish the frame on the wire, drop the rest, say why.
            c.out.removeSubrange(keep...)
            c.out.append(contentsOf: frame)
        } else {
            c.out.removeAll()
            c.outPos = 0
            c.abortOnClose = true
        }
        c.closeAfterFlush = true
        c.deadline = Clock.monotonic() + 2
    }

    /// The end of the frame being written (or `outPos` when it sits between frames); frames
    /// are walked from `framesStart`, which is always a frame start. Nil when the headers do
    /// not add up (never expected; the caller then drops the queue).
    private func frameBoundary(_ c: Connection) -> Int? {
        var at = max(c.framesStart, 0)
        if c.outPos <= at { return at }
        while at < c.out.count {
            guard at + 2 <= c.out.count else { return nil }
            let len = Int(c.out[at + 1] & 0x7F)
            var header = 2, payload = len
            if len == 126 {
                guard at + 4 <= c.out.count else { return nil }
                header = 4
                payload = Int(c.out[at + 2]) << 8 | Int(c.out[at + 3])
            } else if len == 127 {
                guard at + 10 <= c.out.count else { return nil }
                header = 10
                payload = 0
                for i in 2..<10 { payload = payload << 8 | Int(c.out[at + i]) }
            }
            at += header + payload
            if at >= c.outPos { return at <= c.out.count ? at : nil }
        }
        return nil
    }

    /// Sends `bytes[from...]`; returns how far it got, or nil when the connection was dropped.
    /// On a full socket it registers for EPOLLOUT.
    private func sendSome(_ c: Connection, _ bytes: [UInt8], from: Int) -> Int? {
        var pos = from
        while pos < bytes.count {
            let n = bytes.withUnsafeBytes { b in send(c.fd, b.baseAddress.map { $0 + pos }, b.count - pos, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN {
                    if !c.pollingOut {
                        c.pollingOut = true
                        updateInterest(c)
                    }
                    return pos
                }
                drop(c)
                return nil
            }
            pos += n
        }
        return pos
    }

    private func flush(_ c: Connection) {
        if let session = c.tls {
            while true {
                guard let sent = sendSome(c, c.tlsOut, from: c.tlsOutPos) else { return }
                c.tlsOutPos = sent
                guard c.tlsOutPos == c.tlsOut.count else { return }  // socket full
                c.tlsOut.removeAll(keepingCapacity: true)
                c.tlsOutPos = 0
                guard c.outPos < c.out.count else { break }
                // Encrypt the next record's worth of plaintext only when the socket has room.
                let end = min(c.out.count, c.outPos + 16 * 1024)
                session.send(Array(c.out[c.outPos..<end]))
                c.outPos = end
                c.tlsOut = session.takeOutput()
                if session.failure != nil {
                    drop(c)
                    return
                }
            }
        } else {
            guard let sent = sendSome(c, c.out, from: c.outPos) else { return }
            c.outPos = sent
            guard c.outPos == c.out.count else { return }
        }
        if c.out.capacity > 64 * 1024 { c.out = [] } else { c.out.removeAll(keepingCapacity: true) }
        c.outPos = 0
        c.framesStart = 0
        if c.pollingOut {
            c.pollingOut = false
            updateInterest(c)
        }
        if c.closeAfterFlush { drop(c) }
    }

    /// Requests a client may have running at once; beyond it its socket is not read until
    /// replies come back (backpressure instead of unbounded tasks or buffers).
    static let maxPendingCalls = 256
    /// Pipelined HTTP bytes buffered behind a request still being answered.
    static let maxPipelinedBytes = 64 * 1024

    /// Registers the events the connection needs now: input unless it must wait, output while
    /// the kernel buffer is full.
    private func updateInterest(_ c: Connection) {
        let busyHTTP = c.httpBusy && (c.http?.bufferedBytes ?? 0) > NetworkServer.maxPipelinedBytes
        let read = !busyHTTP && c.pendingCalls < NetworkServer.maxPendingCalls
        var events = c.pollingOut ? EPOLLOUT.rawValue : 0
        if read { events |= EPOLLIN.rawValue | EPOLLRDHUP.rawValue }
        c.readingIn = read
        modify(c.fd, events: events)
    }

    /// Re-checks the read interest after state that affects it changed.
    private func refreshInterest(_ c: Connection) {
        let busyHTTP = c.httpBusy && (c.http?.bufferedBytes ?? 0) > NetworkServer.maxPipelinedBytes
        let read = !busyHTTP && c.pendingCalls < NetworkServer.maxPendingCalls
        if read != c.readingIn { updateInterest(c) }
    }

    private func drop(_ c: Connection) {
        guard Int(c.fd) < connections.count, connections[Int(c.fd)] === c else { return }
        connections[Int(c.fd)] = nil
        liveCount -= 1
        if c.abortOnClose {
            var reset = linger(l_onoff: 1, l_linger: 0)
            setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &reset, socklen_t(MemoryLayout<linger>.size))
        }
        close(c.fd)
        if !c.overLimit { observer.closed(c.ref) }
    }

    private func connection(_ ref: ConnectionRef) -> Connection? {
        guard ref.fd >= 0, Int(ref.fd) < connections.count, let c = connections[Int(ref.fd)], c.id == ref.id else { return nil }
        return c
    }

    // MARK: jobs

    private func perform(_ job: LoopJob) {
        switch job {
        case .rpcReply(let ref, let bytes):
            guard let c = connection(ref) else { return }
            c.pendingCalls -= 1
            if let bytes, !c.closeAfterFlush { appendText(c, bytes) }
            flush(c)
            if connections[Int(c.fd)] === c { refreshInterest(c) }
        case .httpResponse(let ref, let response, let keepAlive, let headOnly):
            guard let c = connection(ref) else { return }
            c.httpBusy = false
            respond(c, response, keepAlive: keepAlive, headOnly: headOnly)
            flush(c)
            if connections[Int(c.fd)] === c {
                httpRequests(c)
                flush(c)
                if connections[Int(c.fd)] === c { refreshInterest(c) }
            }
        case .notify(let ref, let bytes):
            guard let c = connection(ref), c.ws?.state == .open, !c.closeAfterFlush else {
                observer.notificationDropped()
                return
            }
            appendText(c, bytes)
            flush(c)
        case .shutdown:
            beginShutdown()
        }
    }

    // MARK: timers

    private func tick(_ now: Double) {
        for case let c? in connections {
            if c.closeAfterFlush || c.ws?.state == .closeSent {
                if now >= c.deadline { drop(c) }
                continue
            }
            if c.ws != nil {
                switch c.keepalive?.tick(now: now) {
                case .sendPing(let frame)?:
                    append(c, frame)
                    flush(c)
                case .timedOut?:
                    logger.info("closing connection \(c.id) (\(c.remote)): no answer to pings for \(Int(settings.pingTimeout)) s")
                    drop(c)
                default: break
                }
            } else if now >= c.deadline {
                drop(c)  // HTTP request not completed in time, or keep-alive idle
            }
        }
    }

    // MARK: shutdown

    private func beginShutdown() {
        guard !draining else { return }
        draining = true
        drainDeadline = Clock.monotonic() + settings.shutdownTimeout
        epoll_ctl(epfd, EPOLL_CTL_DEL, listenFD, nil)
        close(listenFD)
        logger.info("shutting down: finishing in-flight requests, closing \(liveCount) connection(s)")
    }

    private func progressShutdown(_ now: Double) {
        for case let c? in connections {
            if c.ws == nil {
                if !c.httpBusy && c.pendingBytes == 0 { drop(c) }
            } else if c.pendingCalls == 0, let frame = c.ws?.initiateClose(code: WebSocketCloseCode.goingAway, reason: "server shutting down") {
                append(c, frame)
                c.deadline = now + 1
                flush(c)
            }
        }
        if liveCount == 0 || now >= drainDeadline { finished = true }
    }
}
