#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Why an HTTP request got no response.
public struct HTTPClientError: Error, Sendable, CustomStringConvertible, Equatable {
    /// What kind of failure it was.
    public struct Kind: Sendable, Hashable, RawRepresentable, CustomStringConvertible {
        enum Value: String, Sendable { case invalidURL = "invalid_url", connect, timeout, io, protocolError = "protocol" }
        let value: Value
        init(_ value: Value) { self.value = value }
        /// Parses a kind's name (`invalid_url`, `connect`, `timeout`, `io`, `protocol`); nil for anything else.
        public init?(rawValue: String) {
            guard let v = Value(rawValue: rawValue) else { return nil }
            value = v
        }
        /// The kind's name: `invalid_url`, `connect`, `timeout`, `io` or `protocol`.
        public var rawValue: String { value.rawValue }
        /// The same as ``rawValue``.
        public var description: String { rawValue }
        /// The base URL is not `http://host[:port]`.
        public static let invalidURL = Kind(.invalidURL)
        /// The server could not be reached (refused, unreachable, name not found).
        public static let connect = Kind(.connect)
        /// No complete response within the timeout (a server that accepts and never answers).
        public static let timeout = Kind(.timeout)
        /// The connection failed while sending or receiving.
        public static let io = Kind(.io)
        /// The server's reply is not valid HTTP/1.1.
        public static let protocolError = Kind(.protocolError)
    }
    /// The kind of failure.
    public let kind: Kind
    /// What went wrong, in words (naming the server or the URL).
    public let message: String
    /// An error of `kind` described by `message`.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }
    /// The ``message``.
    public var description: String { message }
}

/// A small HTTP/1.1 client for plugins (plain `http://` only), e.g. a media server's control
/// API on loopback. Keep-alive connections are pooled; every request has a deadline covering
/// connect, send and receive; each request runs on its own short-lived OS thread, so a server
/// that never answers holds one thread until the deadline and never a thread of Swift's
/// cooperative pool, let alone the network thread.
public final class HTTPClient: Sendable {
    /// `host` part of the base URL (a name or an IPv4/IPv6 literal without brackets).
    public let host: String
    /// `port` part of the base URL (80 when it gives none).
    public let port: Int
    /// Default deadline per request, seconds.
    public let timeout: Double
    let defaultHeaders: [(String, String)]
    let maxIdle: Int
    /// Idle connections, most recently used last, with when they went idle.
    private let idle = Mutex<[(fd: Int32, since: Double)]>([])
    /// Pooled connections older than this are not reused (servers close idle ones).
    static let idleLifetime = 15.0

    /// `baseURL` is `http://host[:port]` (a trailing `/` is ignored); `headers` are sent with
    /// every request (e.g. `Authorization`).
    public init(baseURL: String, timeout: Double = 5, headers: [(String, String)] = [], maxIdleConnections: Int = 4) throws(HTTPClientError) {
        guard baseURL.hasPrefix("http://") else { throw HTTPClientError(.invalidURL, "only http:// URLs are supported: '\(baseURL)'") }
        var rest = Substring(baseURL.dropFirst(7))
        while rest.last == "/" { rest = rest.dropLast() }
        guard !rest.isEmpty, !rest.contains("/") else { throw HTTPClientError(.invalidURL, "expected http://host[:port], got '\(baseURL)'") }
        var h = String(rest), p = 80
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw HTTPClientError(.invalidURL, "unterminated IPv6 literal in '\(baseURL)'") }
            h = String(rest[rest.index(after: rest.startIndex)..<close])
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") {
                guard let n = Int(after.dropFirst()), (1...65535).contains(n) else { throw HTTPClientError(.invalidURL, "bad port in '\(baseURL)'") }
                p = n
            } else if !after.isEmpty { throw HTTPClientError(.invalidURL, "expected http://host[:port], got '\(baseURL)'") }
        } else if let colon = rest.lastIndex(of: ":") {
            guard let n = Int(rest[rest.index(after: colon)...]), (1...65535).contains(n) else { throw HTTPClientError(.invalidURL, "bad port in '\(baseURL)'") }
            h = String(rest[..<colon])
            p = n
        }
        host = h
        port = p
        self.timeout = timeout
        defaultHeaders = headers
        maxIdle = max(0, maxIdleConnections)
    }

    deinit {
        for c in idle.withLock({ $0 }) { close(c.fd) }
    }

    /// Sends one request and returns the complete response (any status; check ``HTTPClientResponse/status``).
    /// `target` is the path with its query (`/v3/paths/list?page=0`).
    public func request(_ method: String, _ target: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
                        timeout: Double? = nil) async throws(HTTPClientError) -> HTTPClientResponse {
        let deadline = monotonicNow() + (timeout ?? self.timeout)
        let result: Result<HTTPClientResponse, HTTPClientError> = await withCheckedContinuation { done in
            spawnThread { [self] in done.resume(returning: self.perform(method, target, headers, body, deadline)) }
        }
        return try result.get()
    }

    /// A JSON body; the `Content-Type` is set.
    public func request(_ method: String, _ target: String, json: JSONValue, timeout: Double? = nil) async throws(HTTPClientError) -> HTTPClientResponse {
        try await request(method, target, headers: [("Content-Type", "application/json")], body: json.jsonBytes, timeout: timeout)
    }

    // MARK: blocking work, on the request's own thread

    func perform(_ method: String, _ target: String, _ headers: [(String, String)], _ body: [UInt8]?, _ deadline: Double) -> Result<HTTPClientResponse, HTTPClientError> {
        let request = serialize(method, target, headers, body)
        // A pooled connection the server has closed fails before any response byte: retry once
        // on a new connection.
        if let fd = takeIdle() {
            switch exchange(fd, request, head: method == "HEAD", deadline) {
            case .success(let (response, keep)):
                release(fd, keep: keep)
                return .success(response)
            case .failure(let e):
                close(fd)
                guard e.retryable else { return .failure(e.error) }
            }
        }
        let fd: Int32
        switch connect(deadline) {
        case .success(let s): fd = s
        case .failure(let e): return .failure(e)
        }
        switch exchange(fd, request, head: method == "HEAD", deadline) {
        case .success(let (response, keep)):
            release(fd, keep: keep)
            return .success(response)
        case .failure(let e):
            close(fd)
            return .failure(e.error)
        }
    }

    func serialize(_ method: String, _ target: String, _ headers: [(String, String)], _ body: [UInt8]?) -> [UInt8] {
        let hostHeader = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        var head = "\(method) \(target.isEmpty ? "/" : target) HTTP/1.1\r\nHost: \(hostHeader)\r\n"
        for (k, v) in defaultHeaders + headers { head += "\(k): \(v)\r\n" }
        if let body { head += "Content-Length: \(body.count)\r\n" } else if method == "POST" || method == "PATCH" || method == "PUT" {
            head += "Content-Length: 0\r\n"
        }
        head += "\r\n"
        var out = Array(head.utf8)
        if let body { out += body }
        return out
    }

    struct ExchangeError: Error {
        let error: HTTPClientError
        /// Nothing came back on a reused connection: the request may be sent again.
        let retryable: Bool
    }

    func exchange(_ fd: Int32, _ request: [UInt8], head: Bool, _ deadline: Double) -> Result<(HTTPClientResponse, Bool), ExchangeError> {
        var sent = 0
        while sent < request.count {
            let n = request.withUnsafeBytes { b in send(fd, b.baseAddress.map { $0 + sent }, b.count - sent, Int32(MSG_NOSIGNAL)) }
            if n > 0 { sent += n; continue }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && errno == EAGAIN {
                if let e = wait(fd, Int16(POLLOUT), deadline) { return .failure(ExchangeError(error: e, retryable: false)) }
                continue
            }
            return .failure(ExchangeError(error: HTTPClientError(.io, "send to \(host):\(port): \(errnoText())"), retryable: true))
        }
        var parser = HTTPResponseParser(headRequest: head)
        var received = 0
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN {
                    if let e = wait(fd, Int16(POLLIN), deadline) { return .failure(ExchangeError(error: e, retryable: false)) }
                    continue
                }
                return .failure(ExchangeError(error: HTTPClientError(.io, "receive from \(host):\(port): \(errnoText())"), retryable: received == 0))
            }
            let outcome: HTTPResponseParser.Outcome
            if n == 0 {
                if received == 0 { return .failure(ExchangeError(error: HTTPClientError(.io, "\(host):\(port) closed the connection without answering"), retryable: true)) }
                outcome = parser.finish()
            } else {
                received += n
                outcome = parser.feed(chunk[0..<n])
            }
            switch outcome {
            case .needMore: continue
            case .complete(let keepAlive): return .success((parser.response, keepAlive && n > 0))
            case .failed(let why): return .failure(ExchangeError(error: HTTPClientError(.protocolError, "\(host):\(port): \(why)"), retryable: false))
            }
        }
    }

    /// Waits until `fd` is ready for `events`; an error when the deadline passes first.
    func wait(_ fd: Int32, _ events: Int16, _ deadline: Double) -> HTTPClientError? {
        while true {
            let left = deadline - monotonicNow()
            guard left > 0 else { return HTTPClientError(.timeout, "\(host):\(port) did not answer within the timeout") }
            var p = pollfd(fd: fd, events: events, revents: 0)
            let r = poll(&p, 1, Int32(min(left * 1000 + 1, 60_000)))
            if r > 0 { return nil }
            if r < 0 && errno != EINTR { return HTTPClientError(.io, "poll: \(errnoText())") }
        }
    }

    func connect(_ deadline: Double) -> Result<Int32, HTTPClientError> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var res: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &res)
        guard rc == 0, let first = res else {
            return .failure(HTTPClientError(.connect, "cannot resolve \(host): \(String(cString: gai_strerror(rc)))"))
        }
        defer { freeaddrinfo(res) }
        var lastError = "no address"
        var info: UnsafeMutablePointer<addrinfo>? = first
        while let ai = info {
            info = ai.pointee.ai_next
            let fd = socket(ai.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { lastError = errnoText(); continue }
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            if Glibc.connect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0 { return .success(fd) }
            guard errno == EINPROGRESS else {
                lastError = errnoText()
                close(fd)
                continue
            }
            if let e = wait(fd, Int16(POLLOUT), deadline) {
                close(fd)
                return .failure(e.kind == .timeout ? HTTPClientError(.timeout, "connecting to \(host):\(port) timed out") : e)
            }
            var soError: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &len)
            if soError == 0 { return .success(fd) }
            lastError = String(cString: strerror(soError))
            close(fd)
        }
        return .failure(HTTPClientError(.connect, "cannot connect to \(host):\(port): \(lastError)"))
    }

    func takeIdle() -> Int32? {
        let now = monotonicNow()
        let (fd, stale): (Int32?, [Int32]) = idle.withLock { pool in
            let stale = pool.filter { now - $0.since > HTTPClient.idleLifetime }.map(\.fd)
            pool.removeAll { now - $0.since > HTTPClient.idleLifetime }
            return (pool.popLast()?.fd, stale)
        }
        for s in stale { close(s) }
        return fd
    }

    func release(_ fd: Int32, keep: Bool) {
        if keep { putIdle(fd) } else { close(fd) }
    }

    func putIdle(_ fd: Int32) {
        let overflow: Int32? = idle.withLock { pool in
            guard pool.count < maxIdle else { return fd }
            pool.append((fd, monotonicNow()))
            return nil
        }
        if let overflow { close(overflow) }
    }
}

func errnoText() -> String { String(cString: strerror(errno)) }

/// Seconds on the monotonic clock.
func monotonicNow() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
