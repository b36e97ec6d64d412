/// What the server side of a WebSocket connection must do next.
public enum WebSocketEvent: Sendable, Equatable {
    /// A complete text message, valid UTF-8.
    case message([UInt8])
    /// Frame bytes to send now (the pong answering a ping).
    case send([UInt8])
    /// The peer closed the connection: send `reply` (the echoed close frame, nil when we had
    /// already sent ours), then close the TCP connection.
    case closed(code: UInt16, reply: [UInt8]?)
    /// The peer broke the protocol: send `frame` (a close frame with `code`), then close.
    case failed(code: UInt16, reason: String, frame: [UInt8])
}

/// Limits on what a peer may send.
public struct WebSocketLimits: Sendable {
    /// Largest message (all fragments together), bytes; beyond it the connection closes with 1009.
    public var maxMessageBytes: Int
    /// Whether binary messages are refused with 1003 (the JSON-RPC contract speaks text only).
    public var rejectBinary: Bool
    public init(maxMessageBytes: Int = 1 << 20, rejectBinary: Bool = true) {
        self.maxMessageBytes = maxMessageBytes
        self.rejectBinary = rejectBinary
    }
}

/// The server side of an RFC 6455 connection after the handshake, as a value type: feed it
/// bytes, take out events; it performs no I/O.
public struct WebSocketSession: Sendable {
    public enum State: Sendable, Equatable {
        /// Messages flow both ways.
        case open
        /// We sent a close frame and wait for the peer's.
        case closeSent
        /// Finished; nothing more is parsed.
        case closed
    }

    /// Changeable mid-session: the server allows bigger messages once a client has authenticated.
    public var limits: WebSocketLimits
    public private(set) var state: State = .open
    private var buffer: [UInt8] = []
    private var pos = 0
    /// The message being assembled from fragments.
    private var fragmentOpcode: WebSocketOpcode?
    private var fragments: [UInt8] = []
    private var utf8 = UTF8Validator()

    public init(limits: WebSocketLimits = WebSocketLimits(), initialBytes: [UInt8] = []) {
        self.limits = limits
        buffer = initialBytes
    }

    /// Appends received bytes.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        guard state != .closed else { return }
        if pos == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 64 * 1024)
            pos = 0
        } else if pos > 64 * 1024 {
            buffer.removeFirst(pos)
            pos = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// Bytes buffered and not yet parsed (a partial frame).
    public var bufferedBytes: Int { buffer.count - pos }

    /// The next event, or nil when more bytes are needed.
    public mutating func next() -> WebSocketEvent? {
        while state != .closed {
            let available = buffer.count - pos
            guard available >= 2 else { return nil }
            let b0 = buffer[pos], b1 = buffer[pos + 1]
            let fin = b0 & 0x80 != 0
            guard b0 & 0x70 == 0 else { return fail(WebSocketCloseCode.protocolError, "reserved bits set without an extension") }
            guard let opcode = WebSocketOpcode(rawValue: b0 & 0x0F) else {
                return fail(WebSocketCloseCode.protocolError, "reserved opcode \(b0 & 0x0F)")
            }
            guard b1 & 0x80 != 0 else { return fail(WebSocketCloseCode.protocolError, "client frames must be masked") }
            var headerLength = 2
            var length = Int(b1 & 0x7F)
            if length == 126 {
                guard available >= 4 else { return nil }
                length = Int(buffer[pos + 2]) << 8 | Int(buffer[pos + 3])
                headerLength = 4
                guard length >= 126 else { return fail(WebSocketCloseCode.protocolError, "non-minimal length encoding") }
            } else if length == 127 {
                guard available >= 10 else { return nil }
                var l: UInt64 = 0
                for i in 2..<10 { l = l << 8 | UInt64(buffer[pos + i]) }
                guard l >> 63 == 0 else { return fail(WebSocketCloseCode.protocolError, "frame length has the high bit set") }
                guard l > 0xFFFF else { return fail(WebSocketCloseCode.protocolError, "non-minimal length encoding") }
                guard l <= UInt64(limits.maxMessageBytes) else {
                    return fail(WebSocketCloseCode.messageTooBig, "message exceeds \(limits.maxMessageBytes) bytes")
                }
                length = Int(l)
                headerLength = 10
            }
            if opcode.isControl {
                guard fin else { return fail(WebSocketCloseCode.protocolError, "fragmented control frame") }
                guard length <= 125 else { return fail(WebSocketCloseCode.protocolError, "control frame payload over 125 bytes") }
            } else {
                // Check sizes before buffering the payload, so a huge length never allocates.
                guard fragments.count + length <= limits.maxMessageBytes else {
                    return fail(WebSocketCloseCode.messageTooBig, "message exceeds \(limits.maxMessageBytes) bytes")
                }
            }
            let total = headerLength + 4 + length
            guard available >= total else { return nil }
            let maskAt = pos + headerLength
            let payload = unmask(from: maskAt + 4, count: length, key: (buffer[maskAt], buffer[maskAt + 1], buffer[maskAt + 2], buffer[maskAt + 3]))
            pos += total
            if let event = handle(opcode: opcode, fin: fin, payload: payload) { return event }
        }
        return nil
    }

    private mutating func handle(opcode: WebSocketOpcode, fin: Bool, payload: [UInt8]) -> WebSocketEvent? {
        switch opcode {
        case .ping:
            // While closing we no longer answer pings (§5.5.1: after a close, no more frames).
            guard state == .open else { return nil }
            var out: [UInt8] = []
            WebSocketFrameEncoder.append(opcode: .pong, payload: payload, to: &out)
            return .send(out)
        case .pong:
            return nil  // any received frame counts as liveness; see `WebSocketKeepalive`
        case .close:
            return receivedClose(payload)
        case .text, .binary:
            guard fragmentOpcode == nil else {
                return fail(WebSocketCloseCode.protocolError, "new data frame while a fragmented message is in progress")
            }
            if opcode == .binary && limits.rejectBinary {
                return fail(WebSocketCloseCode.unsupportedData, "binary messages are not supported")
            }
            if fin {
                guard state == .open else { return nil }
                if opcode == .text {
                    let ok = payload.withUnsafeBytes { UTF8Validator.isValid($0) }
                    guard ok else { return fail(WebSocketCloseCode.invalidPayload, "text message is not valid UTF-8") }
                }
                return .message(payload)
            }
            fragmentOpcode = opcode
            fragments = payload
            utf8 = UTF8Validator()
            if opcode == .text && !payload.withUnsafeBytes({ utf8.feed($0) }) {
                return fail(WebSocketCloseCode.invalidPayload, "text message is not valid UTF-8")
            }
            return nil
        case .continuation:
            guard let started = fragmentOpcode else {
                return fail(WebSocketCloseCode.protocolError, "continuation frame without a message to continue")
            }
            fragments.append(contentsOf: payload)
            if started == .text && !payload.withUnsafeBytes({ utf8.feed($0) }) {
                return fail(WebSocketCloseCode.invalidPayload, "text message is not valid UTF-8")
            }
            guard fin else { return nil }
            fragmentOpcode = nil
            let message = fragments
            fragments = []
            if started == .text && !utf8.isComplete {
                return fail(WebSocketCloseCode.invalidPayload, "text message ends inside a UTF-8 character")
            }
            return state == .open ? .message(message) : nil
        }
    }

    private mutating func receivedClose(_ payload: [UInt8]) -> WebSocketEvent {
        var code = WebSocketCloseCode.normal  // an empty close is answered with 1000
        if payload.count == 1 {
            return fail(WebSocketCloseCode.protocolError, "close frame with a 1-byte payload")
        }
        if payload.count >= 2 {
            let received = UInt16(payload[0]) << 8 | UInt16(payload[1])
            guard WebSocketCloseCode.isValidOnWire(received) else {
                return fail(WebSocketCloseCode.protocolError, "invalid close code \(received)")
            }
            let reasonOK = payload[2...].withUnsafeBytes { UTF8Validator.isValid($0) }
            guard reasonOK else { return fail(WebSocketCloseCode.invalidPayload, "close reason is not valid UTF-8") }
            code = received
        }
        let wasOpen = state == .open
        state = .closed
        return .closed(code: code, reply: wasOpen ? WebSocketFrameEncoder.close(code: code) : nil)
    }

    private mutating func fail(_ code: UInt16, _ reason: String) -> WebSocketEvent {
        let alreadySent = state == .closeSent
        state = .closed
        return .failed(code: code, reason: reason, frame: alreadySent ? [] : WebSocketFrameEncoder.close(code: code, reason: reason))
    }

    /// Starts a server-initiated close: returns the close frame to send, or nil if a close
    /// was already sent or received.
    public mutating func initiateClose(code: UInt16, reason: String = "") -> [UInt8]? {
        guard state == .open else { return nil }
        state = .closeSent
        return WebSocketFrameEncoder.close(code: code, reason: reason)
    }

    private func unmask(from start: Int, count: Int, key: (UInt8, UInt8, UInt8, UInt8)) -> [UInt8] {
        guard count > 0 else { return [] }
        return [UInt8](unsafeUninitializedCapacity: count) { out, initialized in
            buffer.withUnsafeBufferPointer { src in
                let k = [key.0, key.1, key.2, key.3]
                let key32 = UInt32(key.0) | UInt32(key.1) << 8 | UInt32(key.2) << 16 | UInt32(key.3) << 24
                guard let srcBase = src.baseAddress, let dst = out.baseAddress else { return }
                let base = srcBase + start
                var i = 0
                // Four bytes at a time, then the tail.
                while i + 4 <= count {
                    let w = UnsafeRawPointer(base + i).loadUnaligned(as: UInt32.self) ^ key32
                    UnsafeMutableRawPointer(dst + i).storeBytes(of: w, as: UInt32.self)
                    i += 4
                }
                while i < count {
                    dst[i] = base[i] ^ k[i & 3]
                    i += 1
                }
            }
            initialized = count
        }
    }
}

/// Server keepalive: ping after `interval` of silence; give up when that ping has gone
/// unanswered for `timeout - interval` (so with 30 s / 60 s a dead peer is dropped 60 s after
/// it last spoke). Measuring from the ping, not from the silence, means a client that answers
/// every ping is never dropped, however coarse the caller's tick.
public struct WebSocketKeepalive: Sendable {
    public let interval: Double
    public let timeout: Double
    private(set) public var lastHeard: Double
    private var pingSentAt: Double?

    public enum Action: Sendable, Equatable {
        case none
        case sendPing([UInt8])
        case timedOut
    }

    public init(interval: Double, timeout: Double, now: Double) {
        self.interval = interval
        self.timeout = timeout
        lastHeard = now
    }

    /// Call whenever bytes arrive from the peer.
    public mutating func heard(at now: Double) {
        lastHeard = now
        pingSentAt = nil
    }

    /// Call periodically.
    public mutating func tick(now: Double) -> Action {
        if let sent = pingSentAt {
            return now - sent >= max(timeout - interval, 0) ? .timedOut : .none
        }
        guard now - lastHeard >= interval else { return .none }
        pingSentAt = now
        var out: [UInt8] = []
        WebSocketFrameEncoder.append(opcode: .ping, payload: Array("keepalive".utf8), to: &out)
        return .sendPing(out)
    }
}
