import Glibc

/// Why a connection was refused or cut at admission.
enum RefusalReason: String, Sendable {
    case maxConnections = "max_connections"
    case perAddress = "max_connections_per_ip"
    case unauthenticatedBudget = "unauthenticated_budget"
    case shuttingDown = "shutting_down"
}

/// Who may connect, as a value (no sockets): the total cap, a cap per client address, and a
/// budget for connections without an identity, so that no single address and no crowd of
/// strangers can fill the server. When the budget is full, the oldest unauthenticated
/// connection makes room for the new one.
struct AdmissionControl {
    struct Limits {
        var maxConnections: Int
        var perAddress: Int
        var unauthenticated: Int
    }
    enum Decision: Equatable {
        case admit
        /// Admit after closing this (the oldest unauthenticated) connection.
        case admitEvicting(ConnectionRef)
        case refuse(RefusalReason)
    }

    let limits: Limits
    private(set) var total = 0
    private var perAddress: [String: Int] = [:]
    /// Unauthenticated connections in the order they came (ids; stale ones are skipped).
    private var unauthenticatedOrder: [ConnectionRef] = []
    private var orderStart = 0
    private var unauthenticated: Set<UInt64> = []

    init(_ limits: Limits) { self.limits = limits }

    var unauthenticatedCount: Int { unauthenticated.count }
    func count(for address: String) -> Int { perAddress[address] ?? 0 }

    /// What to do with a new connection from `address` (every new connection starts unauthenticated).
    mutating func decide(address: String) -> Decision {
        if (perAddress[address] ?? 0) >= limits.perAddress { return .refuse(.perAddress) }
        if unauthenticated.count >= limits.unauthenticated {
            return oldestUnauthenticated().map { .admitEvicting($0) } ?? .refuse(.unauthenticatedBudget)
        }
        if total >= limits.maxConnections { return .refuse(.maxConnections) }
        return .admit
    }

    mutating func admitted(_ ref: ConnectionRef, address: String) {
        total += 1
        perAddress[address, default: 0] += 1
        unauthenticated.insert(ref.id)
        unauthenticatedOrder.append(ref)
    }

    mutating func authenticated(_ id: UInt64) {
        unauthenticated.remove(id)
        compact()
    }

    mutating func closed(_ id: UInt64, address: String) {
        total -= 1
        if let n = perAddress[address] { perAddress[address] = n > 1 ? n - 1 : nil }
        unauthenticated.remove(id)
        compact()
    }

    private mutating func oldestUnauthenticated() -> ConnectionRef? {
        while orderStart < unauthenticatedOrder.count {
            let ref = unauthenticatedOrder[orderStart]
            if unauthenticated.contains(ref.id) { return ref }
            orderStart += 1
        }
        return nil
    }

    /// Drops ids that are no longer unauthenticated from the front, and the consumed prefix
    /// when it grows, so the order list stays proportional to the live connections.
    private mutating func compact() {
        while orderStart < unauthenticatedOrder.count, !unauthenticated.contains(unauthenticatedOrder[orderStart].id) { orderStart += 1 }
        if orderStart > 1024 && orderStart * 2 > unauthenticatedOrder.count {
            unauthenticatedOrder.removeFirst(orderStart)
            orderStart = 0
        }
        if unauthenticatedOrder.count > 4 * max(unauthenticated.count, 256) {
            unauthenticatedOrder = unauthenticatedOrder[orderStart...].filter { unauthenticated.contains($0.id) }
            orderStart = 0
        }
    }

    /// The key the per-address cap counts: the IPv4 address, or the first 64 bits of an IPv6
    /// address (one subscriber usually holds a whole /64). IPv4-mapped IPv6 counts as IPv4.
    static func addressKey(_ host: String) -> String {
        var v6 = in6_addr()
        guard host.contains(":"), inet_pton(AF_INET6, host, &v6) == 1 else { return host }
        let bytes = withUnsafeBytes(of: v6) { Array($0) }
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
            return bytes[12..<16].map(String.init).joined(separator: ".")
        }
        return prefix64(bytes)
    }

    /// `2001:0db8:0001:0002::/64` from an IPv6 address's 16 bytes.
    static func prefix64(_ bytes: [UInt8]) -> String {
        let hex = Array("0123456789abcdef")
        var out = ""
        for (i, b) in bytes.prefix(8).enumerated() {
            if i > 0 && i % 2 == 0 { out += ":" }
            out.append(hex[Int(b >> 4)])
            out.append(hex[Int(b & 15)])
        }
        return out + "::/64"
    }
}
