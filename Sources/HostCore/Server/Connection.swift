import PluginAPI
import WireProtocols

/// The state of one client connection. Owned by the network thread alone.
final class Connection {
    let fd: Int32
    let id: UInt64
    /// `host:port` for logs.
    let remote: String
    /// The peer's IP address.
    let remoteHost: String
    /// The address the per-address limit counts against (IPv4 address, IPv6 /64).
    let addressKey: String
    let acceptedAt: Double
    var lifecycle: ConnectionLifecycle
    /// Where it stands with admission control.
    var admission = AdmissionState.pending
    /// Whether an identity is bound to it (WebSocket `authenticate`, or an authorized HTTP
    /// request): unauthenticated connections share a budget and small message limits.
    var authenticated = false
    /// A WebSocket that has not authenticated is closed at this time.
    var authDeadline: Double?
    /// The `Host` the client named (without port), for stream URLs.
    var requestHost: String?

    /// Set while the connection speaks HTTP (before an upgrade).
    var http: HTTPParser?
    /// Set once the connection speaks WebSocket.
    var ws: WebSocketSession?
    var keepalive: WebSocketKeepalive?
    /// A response body being streamed.
    var body: BodyTransfer?

    /// Set when the server speaks TLS. `out` still holds plaintext (so slow-reader handling can
    /// cut it at a frame boundary); it is encrypted a record's worth at a time into `tlsOut`
    /// as the socket takes it.
    var tls: TLSSession?
    var tlsOut: [UInt8] = []
    var tlsOutPos = 0
    /// Bytes waiting to be written, from `outPos` on.
    var out: [UInt8] = []
    var outPos = 0
    /// Where WebSocket frames start in `out` (after a queued 101 response), so the queue can
    /// be cut at a frame boundary.
    var framesStart = 0
    /// The kernel's send buffer was full: EPOLLOUT is wanted.
    var writeBlocked = false
    /// The epoll events registered now.
    var registered: UInt32 = 0
    /// JSON-RPC calls running in tasks, not yet answered.
    var pendingCalls = 0
    /// Messages received, for correlation ids.
    var messageSeq: UInt64 = 0

    init(fd: Int32, id: UInt64, remoteHost: String, remotePort: String, addressKey: String, now: Double, lifecycle: ConnectionLifecycle) {
        self.fd = fd
        self.id = id
        self.remoteHost = remoteHost
        self.addressKey = addressKey
        remote = remoteHost.contains(":") ? "[\(remoteHost)]:\(remotePort)" : "\(remoteHost):\(remotePort)"
        acceptedAt = now
        self.lifecycle = lifecycle
    }

    var ref: ConnectionRef { ConnectionRef(fd: fd, id: id) }
    var pendingBytes: Int { out.count - outPos + tlsOut.count - tlsOutPos }
}

/// A response body streamed to a connection chunk by chunk, with backpressure: the next chunk
/// is produced only when the connection's queue has room.
final class BodyTransfer {
    enum Source {
        case file(FileBodyReader)
        case stream(any HTTPBodyStream, chunked: Bool)
    }
    let source: Source
    let keepAlive: Bool
    /// A chunk is being produced off the network thread.
    var inFlight = false
    init(source: Source, keepAlive: Bool) {
        self.source = source
        self.keepAlive = keepAlive
    }

    /// The connection went away or the server stops: release the file or tell the producer.
    func cancel() {
        switch source {
        case .file(let reader): reader.cancel()
        case .stream(let s, _): s.cancel()
        }
    }
}

/// A connection's standing with admission control.
enum AdmissionState {
    /// Accepted, not yet registered.
    case pending
    /// Counted against the limits (total, per address, unauthenticated budget).
    case counted
    /// No longer counted: evicted (still writing its close) or closing.
    case released
    /// Refused at accept: it only gets its 503 and never becomes a session.
    case refused
}
