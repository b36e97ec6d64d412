import WireProtocols

/// The state of one client connection. Owned by the network thread alone.
final class Connection {
    let fd: Int32
    let id: UInt64
    /// `host:port` for logs.
    let remote: String
    /// The peer's IP address.
    let remoteHost: String
    /// Set while the connection speaks HTTP (before an upgrade).
    var http: HTTPParser?
    /// Set once the connection speaks WebSocket.
    var ws: WebSocketSession?
    var keepalive: WebSocketKeepalive?
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
    /// Whether EPOLLOUT is registered (the socket buffer was full).
    var pollingOut = false
    /// Whether EPOLLIN is registered (cleared to push back on a client that sends faster
    /// than its requests are answered).
    var readingIn = true
    /// Close the socket once `out` is written.
    var closeAfterFlush = false
    /// Reset instead of closing gracefully: whatever the kernel still holds for this peer is
    /// discarded (an HTTP client that never reads its responses).
    var abortOnClose = false
    /// JSON-RPC calls running in tasks, not yet answered.
    var pendingCalls = 0
    /// An HTTP response is being computed; later pipelined requests wait.
    var httpBusy = false
    /// Accepted beyond `max_connections`: answer the request with 503, then close.
    var overLimit = false
    /// When an HTTP request must be complete, or a closing connection is dropped.
    var deadline: Double
    /// Messages received, for correlation ids.
    var messageSeq: UInt64 = 0

    init(fd: Int32, id: UInt64, remoteHost: String, remotePort: String, deadline: Double) {
        self.fd = fd
        self.id = id
        self.remoteHost = remoteHost
        remote = remoteHost.contains(":") ? "[\(remoteHost)]:\(remotePort)" : "\(remoteHost):\(remotePort)"
        self.deadline = deadline
    }

    var ref: ConnectionRef { ConnectionRef(fd: fd, id: id) }
    var pendingBytes: Int { out.count - outPos + tlsOut.count - tlsOutPos }
}
