import CLinux
import Glibc
import PluginAPI
import WireProtocols

/// Writing: the outbound queue with its bound (a client that does not read is closed with
/// 1008, cut at a frame boundary), TLS encryption as the socket takes data, and the epoll
/// interest each connection needs.
extension NetworkServer {
    func appendText(_ c: Connection, _ payload: [UInt8]) {
        payload.withUnsafeBytes { WebSocketFrameEncoder.append(opcode: .text, payload: $0, to: &c.out) }
        checkOutbound(c)
    }

    func append(_ c: Connection, _ bytes: [UInt8]) {
        c.out.append(contentsOf: bytes)
        checkOutbound(c)  // pongs and pipelined HTTP responses count against the bound too
    }

    /// A client that does not read its replies: close it with 1008 rather than buffer forever.
    private func checkOutbound(_ c: Connection) {
        guard c.pendingBytes > settings.maxOutboundBytes, !c.lifecycle.isDraining, !c.lifecycle.isRefusing else { return }
        logger.warning("closing connection \(c.id) (\(c.remote)): outbound queue over \(settings.maxOutboundBytes) bytes (slow reader)")
        observer.rejected(reason: "slow_consumer")
        c.body?.cancel()
        c.body = nil
        if c.ws != nil, let keep = frameBoundary(c), let frame = c.ws?.initiateClose(code: WebSocketCloseCode.policyViolation, reason: "outbound queue full") {
            // Finish the frame on the wire, drop the rest, say why.
            c.out.removeSubrange(keep...)
            c.out.append(contentsOf: frame)
            c.lifecycle.outboundOverflowed(now: HostClock.monotonic(), abort: false)
        } else {
            c.out.removeAll()
            c.outPos = 0
            c.lifecycle.outboundOverflowed(now: HostClock.monotonic(), abort: true)
        }
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
                    if !c.writeBlocked {
                        c.writeBlocked = true
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

    /// Writes as much of the queue as the socket takes; when it is all out, the lifecycle
    /// decides what follows (close a draining connection, shut a refused one's write side),
    /// and a streamed body gets its next chunk.
    func flush(_ c: Connection) {
        if let session = c.tls {
            while true {
                guard let sent = sendSome(c, c.tlsOut, from: c.tlsOutPos) else { return }
                c.tlsOutPos = sent
                guard c.tlsOutPos == c.tlsOut.count else { return }  // socket full
                c.tlsOut.removeAll(keepingCapacity: true)
                c.tlsOutPos = 0
                guard c.outPos < c.out.count, session.handshakeDone else { break }
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
            guard c.outPos == c.out.count else { return }  // waiting for the handshake
        } else {
            guard let sent = sendSome(c, c.out, from: c.outPos) else { return }
            c.outPos = sent
            guard c.outPos == c.out.count else { return }
        }
        if c.out.capacity > 64 * 1024 { c.out = [] } else { c.out.removeAll(keepingCapacity: true) }
        c.outPos = 0
        c.framesStart = 0
        if c.writeBlocked {
            c.writeBlocked = false
            updateInterest(c)
        }
        apply(c, c.lifecycle.flushed())
        if isLive(c), c.body != nil { pumpBody(c) }
    }

    /// Whether the connection's input should be read now: not while it must wait (too many
    /// calls in flight, or pipelined HTTP piling up behind a response being produced).
    private func wantsInput(_ c: Connection) -> Bool {
        let busyHTTP = c.lifecycle.isResponding && (c.http?.bufferedBytes ?? 0) > NetworkServer.maxPipelinedBytes
        return !busyHTTP && c.pendingCalls < NetworkServer.maxPendingCalls
    }

    /// Registers the events the connection needs now: input unless it must wait, output while
    /// the kernel buffer is full.
    func updateInterest(_ c: Connection) {
        var events = c.writeBlocked ? EPOLLOUT.rawValue : 0
        if wantsInput(c) { events |= EPOLLIN.rawValue | EPOLLRDHUP.rawValue }
        guard events != c.registered else { return }
        c.registered = events
        modify(c.fd, events: events)
    }

    /// Re-checks the interest after state that affects it changed.
    func refreshInterest(_ c: Connection) {
        let reading = c.registered & EPOLLIN.rawValue != 0
        if reading != wantsInput(c) { updateInterest(c) }
    }
}
