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
/// strangers can fill the server. When the budget is full, an unauthenticated connection
/// makes room for the new one: the oldest of the address holding the most of them, so a crowd
/// from a few addresses evicts its own before a stranger who is about to authenticate.
struct AdmissionControl {
    struct Limits {
        var maxConnections: Int
        var perAddress: Int
        var unauthenticated: Int
    }
    enum Decision: Equatable {
        case admit
        /// Admit after closing this unauthenticated connection (see ``AdmissionControl``).
        case admitEvicting(ConnectionRef)
        case refuse(RefusalReason)
    }

    let limits: Limits
    private(set) var total = 0
    private var perAddress: [String: Int] = [:]
    /// Unauthenticated connections in the order they came (ids; stale ones are skipped).
    private var unauthenticatedOrder: [ConnectionRef] = []
    private var orderStart = 0
    /// Unauthenticated connection ids, with their address keys.
    private var unauthenticated: [UInt64: String] = [:]
    /// Unauthenticated connections per address key.
    private var strangersPerAddress: [String: Int] = [:]

    init(_ limits: Limits) { self.limits = limits }

    var unauthenticatedCount: Int { unauthenticated.count }
    func count(for address: String) -> Int { perAddress[address] ?? 0 }

    /// What to do with a new connection from `address` (every new connection starts unauthenticated).
    func decide(address: String) -> Decision {
        if (perAddress[address] ?? 0) >= limits.perAddress { return .refuse(.perAddress) }
        if unauthenticated.count >= limits.unauthenticated {
            return evictionCandidate().map { .admitEvicting($0) } ?? .refuse(.unauthenticatedBudget)
        }
        if total >= limits.maxConnections { return .refuse(.maxConnections) }
        return .admit
    }

    mutating func admitted(_ ref: ConnectionRef, address: String) {
        total += 1
        perAddress[address, default: 0] += 1
        unauthenticated[ref.id] = address
        strangersPerAddress[address, default: 0] += 1
        unauthenticatedOrder.append(ref)
    }

    mutating func authenticated(_ id: UInt64) {
        forgetStranger(id)
        compact()
    }

    mutating func closed(_ id: UInt64, address: String) {
        total -= 1
        if let n = perAddress[address] { perAddress[address] = n > 1 ? n - 1 : nil }
        forgetStranger(id)
        compact()
    }

    private mutating func forgetStranger(_ id: UInt64) {
        guard let address = unauthenticated.removeValue(forKey: id), let n = strangersPerAddress[address] else { return }
        strangersPerAddress[address] = n > 1 ? n - 1 : nil
    }

    /// The oldest unauthenticated connection of the address holding the most (one pass over
    /// the order list, which `compact` keeps proportional to the budget; only when it is full).
    private func evictionCandidate() -> ConnectionRef? {
        guard let most = strangersPerAddress.values.max() else { return nil }
        for ref in unauthenticatedOrder[orderStart...] {
            if let address = unauthenticated[ref.id], strangersPerAddress[address] == most { return ref }
        }
        return nil
    }

    /// Drops ids that are no longer unauthenticated from the front, and the consumed prefix
    /// when it grows, so the order list stays proportional to the live connections.
    private mutating func compact() {
        while orderStart < unauthenticatedOrder.count, unauthenticated[unauthenticatedOrder[orderStart].id] == nil { orderStart += 1 }
        if orderStart > 1024 && orderStart * 2 > unauthenticatedOrder.count {
            unauthenticatedOrder.removeFirst(orderStart)
            orderStart = 0
        }
        if unauthenticatedOrder.count > 4 * max(unauthenticated.count, 256) {
            unauthenticatedOrder = unauthenticatedOrder[orderStart...].filter { unauthenticated[$0.id] != nil }
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
