import PluginAPI
import Synchronization

/// How a registered method runs.
public enum MethodImplementation: Sendable {
    /// On the network thread, no task hop (must not block).
    case inline(RPCInlineHandler)
    /// In its own task.
    case async(RPCHandler)
}

/// A registered method.
public struct MethodEntry: Sendable {
    public let descriptor: MethodDescriptor
    /// `core` or the plugin's name.
    public let owner: String
    public let implementation: MethodImplementation
}

/// The host's method registry: name → entry. Plugins get an ``OwnedRegistry`` view that
/// stamps their name on what they register.
public final class MethodTable: Sendable {
    private let entries = Mutex<[String: MethodEntry]>([:])

    public init() {}

    public func add(_ entry: MethodEntry) throws(DuplicateMethodError) {
        let existing: String? = entries.withLock { table in
            if let e = table[entry.descriptor.name] { return e.owner }
            table[entry.descriptor.name] = entry
            return nil
        }
        if let existing {
            throw DuplicateMethodError(method: entry.descriptor.name, firstOwner: existing, secondOwner: entry.owner)
        }
    }

    public func lookup(_ name: String) -> MethodEntry? { entries.withLock { $0[name] } }

    /// Every entry, sorted by name (for discovery and tests).
    public func all() -> [MethodEntry] { entries.withLock { Array($0.values) }.sorted { $0.descriptor.name < $1.descriptor.name } }

    /// A registry that registers under `owner`.
    public func registry(owner: String) -> OwnedRegistry { OwnedRegistry(table: self, owner: owner) }
}

/// ``MethodRegistry`` for one owner (the core or a plugin).
public final class OwnedRegistry: MethodRegistry {
    let table: MethodTable
    let owner: String
    init(table: MethodTable, owner: String) {
        self.table = table
        self.owner = owner
    }
    public func register(_ descriptor: MethodDescriptor, handler: @escaping RPCHandler) throws {
        try table.add(MethodEntry(descriptor: descriptor, owner: owner, implementation: .async(handler)))
    }
    public func registerInline(_ descriptor: MethodDescriptor, handler: @escaping RPCInlineHandler) throws {
        try table.add(MethodEntry(descriptor: descriptor, owner: owner, implementation: .inline(handler)))
    }
}
