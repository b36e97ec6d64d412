import PluginAPI
import WireProtocols

/// WebSocket on a connection: messages to the JSON-RPC dispatcher, control frames, closes,
/// and the authentication deadline for connections that never authenticate.
extension NetworkServer {
    func websocketEvents(_ c: Connection) {
        while let event = c.ws?.next() {
            switch event {
            case .message(let text):
                guard !draining, c.lifecycle.acceptsWork else { continue }  // closing: no new work
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
                c.lifecycle.closeFrameQueued(now: HostClock.monotonic())
                return
            case .failed(let code, let reason, let frame):
                logger.debug("closing connection \(c.id) (\(c.remote)): \(code) \(reason)")
                if code == WebSocketCloseCode.messageTooBig && !c.authenticated { observer.rejected(reason: "unauthenticated_message_size") }
                append(c, frame)
                c.lifecycle.closeFrameQueued(now: HostClock.monotonic())
                return
            }
        }
    }

    /// A WebSocket that did not authenticate within `security.auth_timeout`: 1008 with a reason.
    func closeUnauthenticated(_ c: Connection, now: Double) {
        c.authDeadline = nil
        observer.rejected(reason: "auth_timeout")
        logger.info("closing connection \(c.id) (\(c.remote)): not authenticated within \(settings.authTimeout) s")
        if let frame = c.ws?.initiateClose(code: WebSocketCloseCode.policyViolation, reason: "not authenticated within \(Int(settings.authTimeout)) s") {
            append(c, frame)
            c.lifecycle.closeInitiated(now: now, wait: ConnectionLifecycle.drainTime)
        }
        flush(c)
    }
}
