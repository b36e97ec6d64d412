import PluginAPI

/// A camera's directory against the catalogue (pure): files on disk that the catalogue lacks are
/// added, catalogued files no longer on disk are dropped, and those whose size or modification
/// time changed (rewritten or truncated by hand) are updated and probed again.
public enum Reconciler {
    /// What the catalogue holds of a file, enough to notice a change.
    public struct Known: Sendable, Equatable {
        public var size: Int
        public var modifiedNs: Int64
        public init(size: Int, modifiedNs: Int64) {
            self.size = size
            self.modifiedNs = modifiedNs
        }
    }

    public struct Plan: Sendable, Equatable {
        public var added: [StoredFile] = []
        public var changed: [StoredFile] = []
        public var removed: [FileKey] = []
        public init() {}
        public var isEmpty: Bool { added.isEmpty && changed.isEmpty && removed.isEmpty }
        public mutating func merge(_ other: Plan) {
            added += other.added
            changed += other.changed
            removed += other.removed
        }
    }

    /// One camera's directory of `kind`: `scanned`, the files found in it; `known`, the
    /// catalogue's files of that camera by name.
    public static func plan(_ kind: MediaKind, device: String, scanned: [StoredFile], known: [String: Known]) -> Plan {
        var plan = Plan()
        var seen = Set<String>(minimumCapacity: scanned.count)
        for f in scanned {
            guard seen.insert(f.name).inserted else { continue }
            if let k = known[f.name] {
                if k.size != f.size || k.modifiedNs != f.modifiedNs { plan.changed.append(f) }
            } else {
                plan.added.append(f)
            }
        }
        for name in known.keys where !seen.contains(name) { plan.removed.append(FileKey(kind: kind, device: device, name: name)) }
        plan.removed.sort { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
        return plan
    }

}
