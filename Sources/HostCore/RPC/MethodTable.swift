import PluginAPI
import Synchronization

/// How a registered method runs.
package enum MethodImplementation: Sendable {
    /// On the network thread, no task hop (must not block).
    case inline(RPCInlineHandler)
    /// In its own task.
    case async(RPCHandler)
}

/// A registered method. A class: it is looked up on every request, and handing out a
/// reference costs one retain where copying the descriptor's strings and arrays costs many.
package final class MethodEntry: Sendable {
    package let descriptor: MethodDescriptor
    /// `core` or the plugin's name.
    package let owner: String
    package let implementation: MethodImplementation
    /// The parameter rules, compiled once.
    let rules: CompiledParams

    /// Throws when a parameter rule cannot be enforced exactly (see ``CompiledParams``).
    package init(descriptor: MethodDescriptor, owner: String, implementation: MethodImplementation) throws(UnsupportedParamError) {
        self.descriptor = descriptor
        self.owner = owner
        self.implementation = implementation
        rules = try CompiledParams(descriptor)
    }

    /// The same method with another descriptor (the host updates its own, e.g. the topics
    /// `subscribe_events` accepts once plugins have declared theirs).
    func with(_ descriptor: MethodDescriptor) throws(UnsupportedParamError) -> MethodEntry {
        try MethodEntry(descriptor: descriptor, owner: owner, implementation: implementation)
    }
}

/// The host's method registry: name → entry. Plugins get an ``OwnedRegistry`` view that
/// stamps their name on what they register.
package final class MethodTable: Sendable {
    private let entries = Mutex<[String: MethodEntry]>([:])

    package init() {}

    package func add(_ entry: MethodEntry) throws(DuplicateMethodError) {
        let existing: String? = entries.withLock { table in
            if let e = table[entry.descriptor.name] { return e.owner }
            table[entry.descriptor.name] = entry
            return nil
        }
        if let existing {
            throw DuplicateMethodError(method: entry.descriptor.name, firstOwner: existing, secondOwner: entry.owner)
        }
    }

    package func lookup(_ name: String) -> MethodEntry? { entries.withLock { $0[name] } }

    /// Replaces the descriptor of a method `owner` registered.
    func updateDescriptor(_ name: String, owner: String, _ change: (MethodDescriptor) -> MethodDescriptor) throws {
        guard let old = lookup(name), old.owner == owner else { return }
        let new = try old.with(change(old.descriptor))
        entries.withLock { $0[name] = new }
    }

    /// Every entry, sorted by name (for discovery and tests).
    package func all() -> [MethodEntry] { entries.withLock { Array($0.values) }.sorted { $0.descriptor.name < $1.descriptor.name } }

    /// A registry that registers under `owner` straight into the table.
    package func registry(owner: String) -> OwnedRegistry { OwnedRegistry(table: self, owner: owner, staged: false) }

    /// A registry that only collects; ``OwnedRegistry/commit()`` adds everything or nothing
    /// (a plugin whose activation fails leaves no methods behind).
    package func stagedRegistry(owner: String) -> OwnedRegistry { OwnedRegistry(table: self, owner: owner, staged: true) }

    /// Adds entries all together, or none when one name is taken.
    func addAll(_ new: [MethodEntry]) throws(DuplicateMethodError) {
        let clash: (String, String, String)? = entries.withLock { table in
            var seen: [String: String] = [:]
            for e in new {
                if let first = table[e.descriptor.name]?.owner ?? seen[e.descriptor.name] { return (e.descriptor.name, first, e.owner) }
                seen[e.descriptor.name] = e.owner
            }
            for e in new { table[e.descriptor.name] = e }
            return nil
        }
        if let (name, first, second) = clash { throw DuplicateMethodError(method: name, firstOwner: first, secondOwner: second) }
    }
}

/// ``MethodRegistry`` for one owner (the core or a plugin).
package final class OwnedRegistry: MethodRegistry {
    let table: MethodTable
    let owner: String
    let staged: Bool
    private let pending = Mutex<[MethodEntry]>([])

    init(table: MethodTable, owner: String, staged: Bool) {
        self.table = table
        self.owner = owner
        self.staged = staged
    }

    package func register(_ descriptor: MethodDescriptor, handler: @escaping RPCHandler) throws {
        try add(MethodEntry(descriptor: descriptor, owner: owner, implementation: .async(handler)))
    }

    package func registerInline(_ descriptor: MethodDescriptor, handler: @escaping RPCInlineHandler) throws {
        try add(MethodEntry(descriptor: descriptor, owner: owner, implementation: .inline(handler)))
    }

    private func add(_ entry: MethodEntry) throws(DuplicateMethodError) {
        guard staged else { return try table.add(entry) }
        // Report a clash at once, so the plugin's activate sees it where it registered.
        if let existing = table.lookup(entry.descriptor.name) {
            throw DuplicateMethodError(method: entry.descriptor.name, firstOwner: existing.owner, secondOwner: owner)
        }
        let dup = pending.withLock { p in
            if p.contains(where: { $0.descriptor.name == entry.descriptor.name }) { return true }
            p.append(entry)
            return false
        }
        if dup { throw DuplicateMethodError(method: entry.descriptor.name, firstOwner: owner, secondOwner: owner) }
    }

    /// Throws the clash ``commit()`` would meet, without adding anything.
    func checkCommit() throws(DuplicateMethodError) {
        for e in pending.withLock({ $0 }) {
            if let existing = table.lookup(e.descriptor.name) {
                throw DuplicateMethodError(method: e.descriptor.name, firstOwner: existing.owner, secondOwner: owner)
            }
        }
    }

    /// Adds what was staged to the table (all or nothing).
    func commit() throws(DuplicateMethodError) {
        try table.addAll(pending.withLock { p in
            let all = p
            p.removeAll()
            return all
        })
    }
}
