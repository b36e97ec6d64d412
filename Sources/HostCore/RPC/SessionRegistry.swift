import PluginAPI
import Synchronization

/// What the host knows about one connection's client, shared between the network thread and
/// handler tasks (authenticate writes it, every call reads it).
public struct SessionState: Sendable {
    public var ref: ConnectionRef
    public var principal: Principal?
    /// Opaque id handed to the client by `authenticate`.
    public var sessionID: String?
    /// The peer's IP address (no port).
    public var remoteHost: String
    public var connectedAt: Double
    var bucket: TokenBucket
    var methodBuckets: [String: TokenBucket] = [:]
}

/// What the registry says about a call before it runs.
public enum Admission: Sendable {
    /// Go ahead; the caller's identity (nil when not authenticated).
    case admitted(Principal?)
    /// Over the connection's rate: `-32040` with this many milliseconds to wait.
    case limited(retryAfterMs: Int)
}

/// Connection id → session (identity, rate-limit buckets), behind one lock: admitting a call
/// is one dictionary lookup. Also keeps the per-IP failed-authentication throttle.
public final class SessionRegistry: Sendable {
    private let sessions = Mutex<[UInt64: SessionState]>([:])
    private let throttle: Mutex<AuthThrottle>
    public let limits: RateLimitSettings

    public init(limits: RateLimitSettings = RateLimitSettings()) {
        self.limits = limits
        throttle = Mutex(AuthThrottle(threshold: limits.authFailuresBeforeBackoff))
    }

    public func open(_ ref: ConnectionRef, remoteHost: String) {
        let now = Clock.monotonic()
        let bucket = TokenBucket(rate: limits.requestsPerSecond, burst: limits.burst, now: now)
        sessions.withLock {
            $0[ref.id] = SessionState(ref: ref, principal: nil, sessionID: nil, remoteHost: remoteHost, connectedAt: Clock.now(), bucket: bucket)
        }
    }

    /// Counts one request against the connection's limits and returns its identity.
    public func admit(_ id: UInt64, method: String) -> Admission {
        let now = Clock.monotonic()
        let perMethod = limits.methods[method]
        return sessions.withLock { table in
            guard table[id] != nil else { return .admitted(nil) }
            if let wait = table[id]?.bucket.take(now: now) { return .limited(retryAfterMs: wait) }
            if let rate = perMethod {
                var b = table[id]?.methodBuckets[method] ?? TokenBucket(rate: rate, burst: max(1, rate), now: now)
                let wait = b.take(now: now)
                table[id]?.methodBuckets[method] = b
                if let wait { return .limited(retryAfterMs: wait) }
            }
            return .admitted(table[id]?.principal)
        }
    }

    /// Milliseconds before this connection's IP may try to authenticate again, nil if it may now.
    public func authBackoff(_ id: UInt64) -> Int? {
        state(id).flatMap { authBackoff(host: $0.remoteHost) }
    }

    /// Records the outcome of an authentication attempt for the connection's IP.
    public func recordAuthentication(_ id: UInt64, succeeded: Bool) {
        if let host = state(id)?.remoteHost { recordAuthentication(host: host, succeeded: succeeded) }
    }

    public func close(_ id: UInt64) { _ = sessions.withLock { $0.removeValue(forKey: id) } }

    public func principal(_ id: UInt64) -> Principal? { sessions.withLock { $0[id]?.principal } }

    public func state(_ id: UInt64) -> SessionState? { sessions.withLock { $0[id] } }

    /// Records an authentication on a connection that is still open.
    public func setPrincipal(_ id: UInt64, _ principal: Principal?, sessionID: String?) {
        sessions.withLock {
            $0[id]?.principal = principal
            $0[id]?.sessionID = sessionID
        }
    }

    public var count: Int { sessions.withLock { $0.count } }

    /// Connections with an unexpired identity, and their roles.
    public func authenticated() -> [(ref: ConnectionRef, role: Role)] {
        let now = Clock.now()
        return sessions.withLock { table in
            table.values.compactMap { s in
                guard let p = s.principal, (p.expiresAt ?? .infinity) > now else { return nil }
                return (s.ref, p.role)
            }
        }
    }

    /// The roles of the given connections (nil for unauthenticated or gone).
    public func roles(_ ids: [UInt64]) -> [UInt64: Role] {
        let now = Clock.now()
        return sessions.withLock { table in
            var out: [UInt64: Role] = [:]
            for id in ids {
                if let p = table[id]?.principal, (p.expiresAt ?? .infinity) > now { out[id] = p.role }
            }
            return out
        }
    }

    /// Milliseconds before `host` may try to authenticate again (HTTP callers have no session).
    public func authBackoff(host: String) -> Int? {
        throttle.withLock { $0.retryAfter(host, now: Clock.monotonic()) }
    }

    public func recordAuthentication(host: String, succeeded: Bool) {
        let now = Clock.monotonic()
        throttle.withLock { succeeded ? $0.succeeded(host) : $0.failed(host, now: now) }
    }
}
