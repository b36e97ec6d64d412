import PluginAPI

/// The directory against the catalogue (pure): files on disk that the catalogue lacks are
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
    }

    /// `scanned`: the files found in the part of the store that was scanned; `known`: the
    /// catalogue's files in that same part.
    public static func plan(scanned: [StoredFile], known: [FileKey: Known]) -> Plan {
        var plan = Plan()
        var seen = Set<FileKey>(minimumCapacity: scanned.count)
        for f in scanned {
            let key = FileKey(kind: f.kind, device: f.device, name: f.name)
            guard seen.insert(key).inserted else { continue }
            if let k = known[key] {
                if k.size != f.size || k.modifiedNs != f.modifiedNs { plan.changed.append(f) }
            } else {
                plan.added.append(f)
            }
        }
        for key in known.keys where !seen.contains(key) { plan.removed.append(key) }
        plan.removed.sort { ($0.device, $0.name) < ($1.device, $1.name) }
        return plan
    }
}
