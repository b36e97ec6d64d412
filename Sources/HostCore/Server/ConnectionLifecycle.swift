/// Where one connection is in its life, as a value: the network thread reports what happened
/// and performs the action returned; no I/O here (the model is hummingbird's
/// `WebSocketStateMachine`). Replaces a set of booleans whose combinations were implicit.
struct ConnectionLifecycle: Equatable {
    enum State: Equatable {
        /// Reading HTTP requests; a request must be complete (or the keep-alive idle time
        /// ends) by `deadline`.
        case http(deadline: Double)
        /// A response is being produced (handler running, or its body streaming); later
        /// pipelined requests wait.
        case responding
        /// Speaking WebSocket.
        case websocket
        /// We sent a close frame (shutdown, policy) and wait for the peer's until `deadline`.
        case closeSent(deadline: Double)
        /// Writing what is queued, then closing by `deadline`; `abort` closes with a reset
        /// (for a client that never reads, whatever the kernel still holds is discarded).
        case draining(deadline: Double, abort: Bool)
        /// Refused at admission: a 503 is queued; once it is written our side is shut down and
        /// input is read and discarded until the peer closes or `deadline`, so the client reads
        /// the whole response instead of a reset.
        case refusing(deadline: Double, writeShut: Bool)
        case closed
    }

    enum Action: Equatable {
        case none
        /// `shutdown(SHUT_WR)`: the refusal is on the wire.
        case shutdownWrite
        /// Close the socket (`abort`: with a reset).
        case close(abort: Bool)
    }

    /// How long a connection that is closing may take to get its last bytes out.
    static let drainTime = 2.0
    /// How long a refused client has to read its 503.
    static let refusalTime = 1.0

    private(set) var state: State

    /// A new connection, with its first request due by `deadline`.
    init(requestDeadline deadline: Double) { state = .http(deadline: deadline) }
    /// A new connection refused at admission (its 503 is queued).
    init(refusedAt now: Double) { state = .refusing(deadline: now + ConnectionLifecycle.refusalTime, writeShut: false) }

    /// Whether new requests and messages are taken (not while closing or refusing).
    var acceptsWork: Bool {
        switch state {
        case .http, .responding, .websocket: return true
        default: return false
        }
    }
    var isWebSocket: Bool {
        switch state {
        case .websocket, .closeSent: return true
        default: return false
        }
    }
    var isResponding: Bool { state == .responding }
    var isDraining: Bool { if case .draining = state { return true }; return false }
    var isRefusing: Bool { if case .refusing = state { return true }; return false }

    /// A request is being answered off the network thread (or its body streamed).
    mutating func responseStarted() {
        if case .http = state { state = .responding }
    }

    /// A complete response is queued. Keep-alive: back to reading requests, idle until `deadline`.
    mutating func responseQueued(keepAlive: Bool, idleDeadline: Double, now: Double) {
        switch state {
        case .http, .responding:
            state = keepAlive ? .http(deadline: idleDeadline) : .draining(deadline: now + ConnectionLifecycle.drainTime, abort: false)
        default: break
        }
    }

    /// A new request started arriving on a kept-alive connection: it must be complete by `deadline`.
    mutating func requestStarted(deadline: Double) {
        if case .http = state { state = .http(deadline: deadline) }
    }

    /// The connection now speaks WebSocket.
    mutating func upgraded() {
        if case .http = state { state = .websocket }
    }

    /// A close frame answering the peer's, or reporting its protocol error, is queued: the
    /// server then closes the TCP connection first (RFC 6455 §7.1.1).
    mutating func closeFrameQueued(now: Double) {
        switch state {
        case .websocket, .closeSent, .http, .responding: state = .draining(deadline: now + ConnectionLifecycle.drainTime, abort: false)
        default: break
        }
    }

    /// We started a close (shutdown, authentication deadline): wait for the peer's answer.
    mutating func closeInitiated(now: Double, wait: Double) {
        if state == .websocket { state = .closeSent(deadline: now + wait) }
    }

    /// More was queued than `max_outbound_bytes`: drain what can be, then close; `abort`
    /// when the queue could not be cut at a message boundary (then nothing more is written).
    /// A WebSocket whose queue was cut has its 1008 close frame queued: like any close we
    /// start, it waits for the peer's answer, reading what the peer sends meanwhile. Closing
    /// as soon as the queue is in the kernel would close on unread input, and the reset that
    /// sends discards the close frame the kernel has not sent yet.
    mutating func outboundOverflowed(now: Double, abort: Bool) {
        guard state != .closed, !isRefusing else { return }
        if !abort, state == .websocket {
            state = .closeSent(deadline: now + ConnectionLifecycle.drainTime)
            return
        }
        state = .draining(deadline: now + ConnectionLifecycle.drainTime, abort: abort)
    }

    /// Everything queued has been written.
    mutating func flushed() -> Action {
        switch state {
        case .draining(_, let abort):
            state = .closed
            return .close(abort: abort)
        case .refusing(let deadline, false):
            state = .refusing(deadline: deadline, writeShut: true)
            return .shutdownWrite
        default:
            return .none
        }
    }

    /// The peer closed its side (read returned 0) or the socket failed.
    mutating func peerGone() -> Action {
        guard state != .closed else { return .none }
        state = .closed
        return .close(abort: false)
    }

    /// The periodic timer: closes what is past its deadline.
    mutating func timer(now: Double) -> Action {
        switch state {
        case .http(let deadline) where now >= deadline,
             .closeSent(let deadline) where now >= deadline,
             .refusing(let deadline, _) where now >= deadline:
            state = .closed
            return .close(abort: false)
        case .draining(let deadline, let abort) where now >= deadline:
            state = .closed
            return .close(abort: abort)
        default:
            return .none
        }
    }

    /// The server is stopping: idle HTTP connections close now.
    mutating func shutdownIdleHTTP() -> Action {
        if case .http = state {
            state = .closed
            return .close(abort: false)
        }
        return .none
    }
}
