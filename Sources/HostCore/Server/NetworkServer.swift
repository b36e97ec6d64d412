import CLinux
import Glibc
import PluginAPI
import WireProtocols

/// The network thread: one epoll loop that accepts, reads, parses (HTTP, then WebSocket),
/// dispatches JSON-RPC and writes. One thread, because requests cost microseconds and the
/// server is pinned to one core in the benchmarks; slow work runs in tasks, whose results
/// come back through ``LoopHandle``.
///
/// This file is the loop itself (events, jobs, timers, shutdown). Per-connection protocol
/// handling is in the extensions: accepting and admission (`+Accept`), HTTP (`+HTTP`),
/// WebSocket (`+WebSocket`) and output (`+Output`); where each connection is in its life is
/// the pure ``ConnectionLifecycle``.
final class NetworkServer {
    let settings: NetworkSettings
    let dispatcher: RPCDispatcher
    let router: HTTPRouter
    let authorizer: HTTPAuthorizer
    let observer: any ConnectionObserver
    let logger: Logger
    let handle: LoopHandle
    let listenFD: Int32
    let epfd: Int32
    var connections: [Connection?]
    var liveCount = 0
    var nextID: UInt64 = 1
    var admission: AdmissionControl
    /// The 503 each refusal sends, serialized once.
    let refusals: [RefusalReason: [UInt8]]
    /// Connections refused at admission that are still getting their 503 out.
    var refusingCount = 0
    /// When a refusal was last logged per address (one line per second per address).
    var refusalLogged: [String: Double] = [:]
    let readBuffer: UnsafeMutableRawBufferPointer
    /// Present when `server.tls` is configured: every connection is then TLS.
    let tls: TLSContext?
    var draining = false
    var drainDeadline = 0.0
    var finished = false
    var nextTick = 0.0
    /// Timer resolution: 1 s, finer when pings are more frequent (so a 1 s interval means ~1 s).
    let tickPeriod: Double

    /// Requests a client may have running at once; beyond it its socket is not read until
    /// replies come back (backpressure instead of unbounded tasks or buffers).
    static let maxPendingCalls = 256
    /// Pipelined HTTP bytes buffered behind a request still being answered.
    static let maxPipelinedBytes = 64 * 1024
    /// Refused connections that may be finishing their 503 at once (each for at most
    /// ``ConnectionLifecycle/refusalTime``); beyond, new ones are closed at once, so a flood
    /// cannot use up the file descriptors.
    static let maxRefusing = 4096

    init(settings: NetworkSettings, listenFD: Int32, handle: LoopHandle, dispatcher: RPCDispatcher, router: HTTPRouter,
         authorizer: HTTPAuthorizer, observer: any ConnectionObserver, logger: Logger) throws {
        self.settings = settings
        self.listenFD = listenFD
        self.handle = handle
        self.dispatcher = dispatcher
        self.router = router
        self.authorizer = authorizer
        self.observer = observer
        self.logger = logger
        admission = AdmissionControl(.init(maxConnections: settings.maxConnections, perAddress: settings.maxConnectionsPerAddress,
                                           unauthenticated: settings.unauthenticatedBudget))
        tickPeriod = min(1.0, settings.pingInterval / 4, settings.authTimeout / 4)
        var refusals: [RefusalReason: [UInt8]] = [:]
        for r in [RefusalReason.maxConnections, .perAddress, .unauthenticatedBudget, .shuttingDown] {
            refusals[r] = NetworkServer.refusal(r, settings).serialize(keepAlive: false)
        }
        self.refusals = refusals
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

    func add(_ fd: Int32, events: UInt32) throws(SystemError) {
        var ev = epoll_event()
        ev.events = events
        ev.data.fd = fd
        guard epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == 0 else { throw SystemError("epoll_ctl add") }
    }

    func modify(_ fd: Int32, events: UInt32) {
        var ev = epoll_event()
        ev.events = events
        ev.data.fd = fd
        epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev)
    }

    // MARK: loop

    /// Runs until shutdown has finished.
    func run() {
        var events = [epoll_event](repeating: epoll_event(), count: 512)
        nextTick = HostClock.monotonic() + tickPeriod
        while !finished {
            let now = HostClock.monotonic()
            let timeoutMs = draining ? 50 : max(0, Int32((nextTick - now) * 1000) + 1)
            let n = events.withUnsafeMutableBufferPointer { epoll_wait(epfd, $0.baseAddress, Int32($0.count), timeoutMs) }
            if n < 0 && errno != EINTR {
                logger.error("epoll_wait failed: \(SystemError("epoll_wait"))")
                break
            }
            var woken = false
            for i in 0..<max(0, Int(n)) {
                let fd = events[i].data.fd
                let ev = events[i].events
                if fd == listenFD {
                    acceptAll()
                } else if fd == handle.wakeFD {
                    woken = true
                } else if fd >= 0, Int(fd) < connections.count, let c = connections[Int(fd)] {
                    if ev & EPOLLOUT.rawValue != 0 { flush(c) }
                    if ev & (EPOLLIN.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue | EPOLLRDHUP.rawValue) != 0, connections[Int(fd)] === c {
                        readable(c)
                    }
                }
            }
            // Posted jobs last: requests that arrived in this batch are read and answered before
            // the chunks of streamed bodies (each a socket write of up to 128 KiB) are queued.
            if woken { for job in handle.take() { perform(job) } }
            let after = HostClock.monotonic()
            if after >= nextTick {
                tick(after)
                nextTick = after + tickPeriod
            }
            if draining { progressShutdown(after) }
        }
        for case let c? in connections { drop(c) }
        close(epfd)
    }

    /// The live connection `ref` names, if it is still the same one.
    func connection(_ ref: ConnectionRef) -> Connection? {
        guard ref.fd >= 0, Int(ref.fd) < connections.count, let c = connections[Int(ref.fd)], c.id == ref.id else { return nil }
        return c
    }

    func isLive(_ c: Connection) -> Bool { Int(c.fd) < connections.count && connections[Int(c.fd)] === c }

    // MARK: input

    func readable(_ c: Connection) {
        let n = recv(c.fd, readBuffer.baseAddress, readBuffer.count, 0)
        if n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) {
            apply(c, c.lifecycle.peerGone())
            return
        }
        guard n > 0 else { return }
        let bytes = UnsafeRawBufferPointer(rebasing: readBuffer[0..<n])
        if let session = c.tls {
            let plain = session.receive(bytes)
            c.tlsOut.append(contentsOf: session.takeOutput())  // handshake records
            if let failure = session.failure {
                logger.debug("closing connection \(c.id) (\(c.remote)): \(failure)")
                c.lifecycle.closeFrameQueued(now: HostClock.monotonic())
            }
            if !plain.isEmpty { plain.withUnsafeBytes { process(c, $0) } }
        } else {
            process(c, bytes)
        }
        if isLive(c) {
            flush(c)
            if isLive(c) { refreshInterest(c) }
        }
    }

    /// Plaintext from the client, to the protocol the connection speaks now.
    private func process(_ c: Connection, _ bytes: UnsafeRawBufferPointer) {
        if c.lifecycle.isRefusing { return }  // read and discarded: the 503 is all it gets
        if c.ws != nil {
            c.keepalive?.heard(at: HostClock.monotonic())
            c.ws?.feed(bytes)
            websocketEvents(c)
        } else {
            c.http?.feed(bytes)
            httpRequests(c)
        }
    }

    /// Performs what the lifecycle decided.
    func apply(_ c: Connection, _ action: ConnectionLifecycle.Action) {
        switch action {
        case .none: break
        case .shutdownWrite: shutdown(c.fd, Int32(SHUT_WR))
        case .close(let abort): drop(c, abort: abort)
        }
    }

    func drop(_ c: Connection, abort: Bool = false) {
        guard isLive(c) else { return }
        connections[Int(c.fd)] = nil
        liveCount -= 1
        c.body?.cancel()
        c.body = nil
        if abort {
            var reset = linger(l_onoff: 1, l_linger: 0)
            setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &reset, socklen_t(MemoryLayout<linger>.size))
        }
        close(c.fd)
        if c.admission == .refused {
            refusingCount -= 1
        } else {
            releaseAdmission(c)
            observer.closed(c.ref)
        }
    }

    /// The connection stops counting against admission (closed, or evicted and draining).
    func releaseAdmission(_ c: Connection) {
        guard c.admission == .counted else { return }
        c.admission = .released
        admission.closed(c.id, address: c.addressKey)
    }

    // MARK: jobs

    func perform(_ job: LoopJob) {
        switch job {
        case .rpcReply(let ref, let bytes):
            guard let c = connection(ref) else { return }
            c.pendingCalls -= 1
            if let bytes, !c.lifecycle.isDraining, c.ws?.state == .open { appendText(c, bytes) }  // nothing after a close frame
            flush(c)
            if isLive(c) { refreshInterest(c) }
        case .httpResponse(let ref, let response, let keepAlive, let headOnly, let authorized):
            guard let c = connection(ref) else {
                HTTPBodyRelease.discard(response.body)
                return
            }
            if authorized { markAuthenticated(c) }
            respond(c, response, keepAlive: keepAlive, headOnly: headOnly)
            flush(c)
            if isLive(c) {
                httpRequests(c)
                flush(c)
                if isLive(c) { refreshInterest(c) }
            }
        case .bodyChunk(let ref, let chunk):
            guard let c = connection(ref) else { return }
            bodyChunkArrived(c, chunk)
        case .notify(let ref, let bytes):
            guard let c = connection(ref), c.ws?.state == .open, c.lifecycle.acceptsWork else {
                observer.notificationDropped()
                return
            }
            appendText(c, bytes)
            flush(c)
        case .authenticated(let ref):
            guard let c = connection(ref) else { return }
            markAuthenticated(c)
        case .heartbeat(let answer):
            answer()
        case .shutdown:
            beginShutdown()
        }
    }

    /// The connection has an identity now: out of the unauthenticated budget, full message size.
    func markAuthenticated(_ c: Connection) {
        guard !c.authenticated else { return }
        c.authenticated = true
        c.authDeadline = nil
        admission.authenticated(c.id)
        c.ws?.limits.maxMessageBytes = settings.maxMessageBytes
    }

    // MARK: timers

    private func tick(_ now: Double) {
        for case let c? in connections {
            apply(c, c.lifecycle.timer(now: now))
            guard isLive(c), c.lifecycle.isWebSocket, c.lifecycle.acceptsWork else { continue }
            if let deadline = c.authDeadline, now >= deadline {
                closeUnauthenticated(c, now: now)
                continue
            }
            switch c.keepalive?.tick(now: now) {
            case .sendPing(let frame)?:
                append(c, frame)
                flush(c)
            case .timedOut?:
                logger.info("closing connection \(c.id) (\(c.remote)): no answer to pings for \(Int(settings.pingTimeout)) s")
                drop(c)
            default: break
            }
        }
    }

    // MARK: shutdown

    private func beginShutdown() {
        guard !draining else { return }
        draining = true
        drainDeadline = HostClock.monotonic() + settings.shutdownTimeout
        epoll_ctl(epfd, EPOLL_CTL_DEL, listenFD, nil)
        close(listenFD)
        logger.info("shutting down: finishing in-flight requests, closing \(liveCount) connection(s)")
    }

    private func progressShutdown(_ now: Double) {
        for case let c? in connections {
            if c.ws == nil {
                if !c.lifecycle.isResponding && c.pendingBytes == 0 { apply(c, c.lifecycle.shutdownIdleHTTP()) }
            } else if c.pendingCalls == 0, c.lifecycle.acceptsWork,
                      let frame = c.ws?.initiateClose(code: WebSocketCloseCode.goingAway, reason: "server shutting down") {
                append(c, frame)
                c.lifecycle.closeInitiated(now: now, wait: 1)
                flush(c)
            }
        }
        if liveCount == 0 || now >= drainDeadline { finished = true }
    }
}
