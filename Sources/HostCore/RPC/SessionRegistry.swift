import PluginAPI
import Synchronization

/// What the host knows about one connection's client, shared between the network thread and
/// handler tasks (authenticate writes it, every call reads it).
public struct SessionState: Sendable {
    public var ref: ConnectionRef
    public var principal: Principal?
    /// Opaque id handed to the client by `authenticate`.
    public var sessionID: String?
    public var remoteAddress: String
    public var connectedAt: Double
}

/// Connection id → session, behind one lock (reads are a dictionary lookup).
public final class SessionRegistry: Sendable {
    private let sessions = Mutex<[UInt64: SessionState]>([:])

    public init() {}

    public func open(_ ref: ConnectionRef, remoteAddress: String) {
        sessions.withLock { $0[ref.id] = SessionState(ref: ref, principal: nil, sessionID: nil, remoteAddress: remoteAddress, connectedAt: Clock.now()) }
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
        sessions.withLock { table in
            var out: [UInt64: Role] = [:]
            for id in ids { if let p = table[id]?.principal { out[id] = p.role } }
            return out
        }
    }
}
