import PluginAPI
import Synchronization

/// What the host knows about one connection's client, shared between the network thread and
/// handler tasks (authenticate writes it, every call reads it).
package struct SessionState: Sendable {
    package var ref: ConnectionRef
    package var principal: Principal?
    /// Opaque id handed to the client by `authenticate`.
    package var sessionID: String?
    /// Where the client is and what host name it used.
    package var origin: CallOrigin
    package var connectedAt: Double
    var bucket: TokenBucket
    var methodBuckets: [String: TokenBucket] = [:]
}

/// What the registry says about a call before it runs.
package enum Admission: Sendable {
    /// Go ahead; the caller's identity (nil when not authenticated) and origin.
    case admitted(Principal?, CallOrigin)
    /// Over the connection's rate: `-32040` with this many milliseconds to wait.
    case limited(retryAfterMs: Int)
}

/// Connection id → session (identity, rate-limit buckets), behind one lock: admitting a call
/// is one dictionary lookup.
package final class SessionRegistry: Sendable {
    private let sessions = Mutex<[UInt64: SessionState]>([:])
    /// Told when a connection gets an identity (the network thread lifts its stranger limits).
    private let authenticatedHook = Mutex<(@Sendable (ConnectionRef) -> Void)?>(nil)
    package let limits: RateLimitSettings

    package init(limits: RateLimitSettings = RateLimitSettings()) { self.limits = limits }

    func onAuthenticated(_ hook: @escaping @Sendable (ConnectionRef) -> Void) { authenticatedHook.withLock { $0 = hook } }

    package func open(_ ref: ConnectionRef, remoteHost: String) {
        let now = HostClock.monotonic()
        let bucket = TokenBucket(rate: limits.requestsPerSecond, burst: limits.burst, now: now)
        sessions.withLock {
            $0[ref.id] = SessionState(ref: ref, principal: nil, sessionID: nil, origin: CallOrigin(remoteHost: remoteHost, requestHost: nil),
                                      connectedAt: HostClock.now(), bucket: bucket)
        }
    }

    /// The host name the client used, once known (the WebSocket upgrade's `Host`).
    package func setRequestHost(_ id: UInt64, _ host: String?) { sessions.withLock { $0[id]?.origin.requestHost = host } }

    /// Counts one request against the connection's limits and returns its identity.
    package func admit(_ id: UInt64, method: String) -> Admission {
        let now = HostClock.monotonic()
        let perMethod = limits.methods[method]
        return sessions.withLock { table in
            // Field by field, in place: the session is not copied per request.
            guard table[id] != nil else { return .admitted(nil, CallOrigin(remoteHost: "-", requestHost: nil)) }
            if let wait = table[id]?.bucket.take(now: now) { return .limited(retryAfterMs: wait) }
            if let rate = perMethod {
                var b = table[id]?.methodBuckets[method] ?? TokenBucket(rate: rate, burst: max(1, rate), now: now)
                let wait = b.take(now: now)
                table[id]?.methodBuckets[method] = b
                if let wait { return .limited(retryAfterMs: wait) }
            }
            return .admitted(table[id]?.principal, table[id]?.origin ?? CallOrigin(remoteHost: "-", requestHost: nil))
        }
    }

    package func close(_ id: UInt64) { _ = sessions.withLock { $0.removeValue(forKey: id) } }

    package func principal(_ id: UInt64) -> Principal? { sessions.withLock { $0[id]?.principal } }

    package func state(_ id: UInt64) -> SessionState? { sessions.withLock { $0[id] } }

    /// Records an authentication on a connection that is still open (nil: forget it).
    package func setPrincipal(_ id: UInt64, _ principal: Principal?, sessionID: String?) {
        let ref: ConnectionRef? = sessions.withLock { table in
            let had = table[id]?.principal != nil
            table[id]?.principal = principal
            table[id]?.sessionID = sessionID
            return principal != nil && !had ? table[id]?.ref : nil
        }
        if let ref { authenticatedHook.withLock { $0 }?(ref) }
    }

    package var count: Int { sessions.withLock { $0.count } }

    /// Connections with an unexpired identity, and their roles.
    package func authenticated() -> [(ref: ConnectionRef, role: Role)] {
        let now = HostClock.now()
        return sessions.withLock { table in
            table.values.compactMap { s in
                guard let p = s.principal, p.isValid(at: now) else { return nil }
                return (s.ref, p.role)
            }
        }
    }

    /// The roles of the given connections (nil for unauthenticated or gone).
    package func roles(_ ids: [UInt64]) -> [UInt64: Role] {
        let now = HostClock.now()
        return sessions.withLock { table in
            var out: [UInt64: Role] = [:]
            for id in ids {
                if let p = table[id]?.principal, p.isValid(at: now) { out[id] = p.role }
            }
            return out
        }
    }
}
