import CLinux
import Glibc
import PluginAPI
import WireProtocols

/// Accepting connections and admission (``AdmissionControl``): the total cap, the per-address
/// cap and the unauthenticated budget. A refused client always reads a complete 503 (status,
/// `Retry-After`, a JSON body naming the limit) before its connection closes, never a reset.
extension NetworkServer {
    func acceptAll() {
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
            guard Int(fd) < connections.count else {
                close(fd)
                observer.rejected(reason: "fd_limit")
                continue
            }
            Sockets.setNoDelay(fd)
            let described = Sockets.describe(&addr)
            let peer = (host: described.host, port: described.port), key = described.key
            let now = HostClock.monotonic()
            let decision: AdmissionControl.Decision = draining ? .refuse(.shuttingDown) : admission.decide(address: key)
            switch decision {
            case .admit:
                open(fd, peer: peer, key: key, now: now)
            case .admitEvicting(let oldest):
                evict(oldest, now: now)
                open(fd, peer: peer, key: key, now: now)
            case .refuse(let reason):
                refuse(fd, peer: peer, key: key, reason: reason, now: now)
            }
        }
    }

    private func open(_ fd: Int32, peer: (host: String, port: String), key: String, now: Double) {
        let c = Connection(fd: fd, id: nextID, remoteHost: peer.host, remotePort: peer.port, addressKey: key, now: now,
                           lifecycle: ConnectionLifecycle(requestDeadline: now + settings.requestTimeout))
        nextID += 1
        c.http = HTTPParser(limits: HTTPLimits(maxBodyBytes: 64 * 1024))
        if let tls {
            guard let session = TLSSession(tls) else {
                close(fd)
                return
            }
            c.tls = session
        }
        guard register(c) else { return }
        admission.admitted(c.ref, address: key)
        c.admission = .counted
        observer.opened(c.ref, remoteHost: c.remoteHost)
    }

    /// Registers a new connection with epoll and the table; false (and closed) when epoll refuses.
    private func register(_ c: Connection) -> Bool {
        c.registered = EPOLLIN.rawValue | EPOLLRDHUP.rawValue
        do { try add(c.fd, events: c.registered) } catch {
            close(c.fd)
            return false
        }
        connections[Int(c.fd)] = c
        liveCount += 1
        return true
    }

    /// Queues the 503 for a connection over a limit; the lifecycle then shuts our side and
    /// discards input until the peer closes, so it reads the whole response. Over TLS the 503
    /// is encrypted once the client's handshake completes (within the same refusal time).
    private func refuse(_ fd: Int32, peer: (host: String, port: String), key: String, reason: RefusalReason, now: Double) {
        observer.rejected(reason: reason.rawValue)
        logRefusal(reason, peer: peer.host, key: key, now: now)
        guard refusingCount < NetworkServer.maxRefusing else {
            // A flood beyond what can be answered: closed before anything is read.
            close(fd)
            return
        }
        let c = Connection(fd: fd, id: nextID, remoteHost: peer.host, remotePort: peer.port, addressKey: key, now: now,
                           lifecycle: ConnectionLifecycle(refusedAt: now))
        nextID += 1
        c.admission = .refused
        if let tls {
            guard let session = TLSSession(tls) else {
                close(fd)
                return
            }
            c.tls = session
        }
        guard register(c) else { return }
        refusingCount += 1
        append(c, refusals[reason] ?? NetworkServer.refusal(reason, settings).serialize(keepAlive: false))
        flush(c)
    }

    /// Closes the connection without an identity that admission chose, to make room; its client reads why.
    private func evict(_ ref: ConnectionRef, now: Double) {
        guard let c = connection(ref) else { return }
        observer.rejected(reason: RefusalReason.unauthenticatedBudget.rawValue)
        logRefusal(.unauthenticatedBudget, peer: c.remoteHost, key: c.addressKey, now: now)
        if c.ws != nil, let frame = c.ws?.initiateClose(code: WebSocketCloseCode.policyViolation,
                                                       reason: "too many unauthenticated connections; authenticate sooner") {
            append(c, frame)
        } else if c.ws == nil && !c.lifecycle.isResponding {
            append(c, NetworkServer.refusal(.unauthenticatedBudget, settings).serialize(keepAlive: false))
        }
        c.lifecycle.closeFrameQueued(now: now)
        releaseAdmission(c)  // its slot is free now, whatever it still has to write
        flush(c)
    }

    /// One log line per address and second at most.
    private func logRefusal(_ reason: RefusalReason, peer: String, key: String, now: Double) {
        if let last = refusalLogged[key], now - last < 1 { return }
        if refusalLogged.count > 10_000 { refusalLogged = refusalLogged.filter { now - $0.value < 1 } }
        refusalLogged[key] = now
        logger.warning("refused a connection from \(peer): \(reason.rawValue)", [("reason", reason.rawValue), ("remote", peer)])
    }

    /// The 503 a refused client reads.
    static func refusal(_ reason: RefusalReason, _ s: NetworkSettings) -> HTTPResponse {
        let message: String
        switch reason {
        case .maxConnections: message = "too many connections (server.max_connections: \(s.maxConnections))"
        case .perAddress: message = "too many connections from your address (server.max_connections_per_ip: \(s.maxConnectionsPerAddress))"
        case .unauthenticatedBudget: message = "too many unauthenticated connections (budget \(s.unauthenticatedBudget)); authenticate sooner"
        case .shuttingDown: message = "the server is shutting down"
        }
        var r = HTTPResponse.json(503, JSONValue.object(["error": .string(message), "limit": .string(reason.rawValue)]).jsonBytes)
        r.headers.append(("Retry-After", "1"))
        return r
    }
}
