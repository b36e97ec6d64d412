import PluginAPI

/// The listing order of the store's files, in memory beside the catalogue: newest first
/// (creation time, then name, then camera, names compared byte by byte as SQLite does), for
/// every kind and for each camera. A page at any offset is then a slice, where SQLite's
/// `OFFSET` would step through every row before it (70 ms for the last page of 100,000).
public struct PageIndex: Sendable {
    public struct Entry: Sendable, Equatable {
        public var createdNs: Int64
        public var device: String
        public var name: String
        public init(createdNs: Int64, device: String, name: String) {
            self.createdNs = createdNs
            self.device = device
            self.name = name
        }
        public init(_ f: StoredFile) { self.init(createdNs: f.createdNs, device: f.device, name: f.name) }
    }

    struct Ordered: Sendable {
        var all: [Entry] = []
        var byDevice: [String: [Entry]] = [:]
    }
    private var kinds: [MediaKind: Ordered] = [:]

    public init() {}

    /// Whether `a` is listed before `b`.
    public static func precedes(_ a: Entry, _ b: Entry) -> Bool {
        if a.createdNs != b.createdNs { return a.createdNs > b.createdNs }
        if a.name != b.name { return b.name.utf8.lexicographicallyPrecedes(a.name.utf8) }
        return b.device.utf8.lexicographicallyPrecedes(a.device.utf8)
    }

    /// Every entry of `kind` at once (in any order; already ordered is cheapest).
    public mutating func replace(_ kind: MediaKind, with entries: [Entry]) {
        var all = entries
        if !zip(all, all.dropFirst()).allSatisfy({ !PageIndex.precedes($1, $0) }) { all.sort(by: PageIndex.precedes) }
        var byDevice: [String: [Entry]] = [:]
        for e in all { byDevice[e.device, default: []].append(e) }
        kinds[kind] = Ordered(all: all, byDevice: byDevice)
    }

    public mutating func insert(_ e: Entry, _ kind: MediaKind) {
        var o = kinds[kind] ?? Ordered()
        kinds[kind] = nil  // unique: the arrays are changed in place, not copied
        PageIndex.insert(e, into: &o.all)
        PageIndex.insert(e, into: &o.byDevice[e.device, default: []])
        kinds[kind] = o
    }

    public mutating func remove(_ e: Entry, _ kind: MediaKind) {
        guard var o = kinds[kind] else { return }
        kinds[kind] = nil
        PageIndex.remove(e, from: &o.all)
        if var d = o.byDevice.removeValue(forKey: e.device) {
            PageIndex.remove(e, from: &d)
            if !d.isEmpty { o.byDevice[e.device] = d }
        }
        kinds[kind] = o
    }

    /// `limit` entries from `offset`, newest first.
    public func page(_ kind: MediaKind, device: String?, offset: Int, limit: Int) -> ArraySlice<Entry> {
        let list = entries(kind, device)
        guard offset < list.count, limit > 0 else { return [] }
        return list[offset..<min(list.count, offset + limit)]
    }

    public func count(_ kind: MediaKind, device: String?) -> Int { entries(kind, device).count }

    private func entries(_ kind: MediaKind, _ device: String?) -> [Entry] {
        guard let o = kinds[kind] else { return [] }
        guard let device else { return o.all }
        return o.byDevice[device] ?? []
    }

    /// The first position whose entry does not precede `e`.
    static func position(_ e: Entry, in list: [Entry]) -> Int {
        var lo = 0, hi = list.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if precedes(list[mid], e) { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    static func insert(_ e: Entry, into list: inout [Entry]) {
        let i = position(e, in: list)
        if i < list.count && list[i] == e { return }
        list.insert(e, at: i)
    }

    static func remove(_ e: Entry, from list: inout [Entry]) {
        let i = position(e, in: list)
        if i < list.count && list[i] == e { list.remove(at: i) }
    }
}
