import Codecs
import CSQLite
import Glibc
import PluginAPI

/// The SQLite catalogue of the store's files and its settings (WAL, prepared statements).
/// Blocking: only the store's actor, on its own thread, uses it.
public final class Catalogue {
    public let path: String
    public let db: SQLiteDatabase
    private let ordered, findByName, findByKey, upsert, remove, knownDevice, all, unprobed, setProbe,
                getSetting, putSetting: SQLiteStatement

    /// How opening went.
    public enum Opened: Sendable, Equatable {
        /// An existing catalogue, migrated from `fromVersion` if older.
        case existing(fromVersion: Int)
        /// There was none: a new one, filled from the directories.
        case created
        /// The one there was unusable (`reason`); it was renamed to `movedTo` and a new one made.
        case replaced(reason: String, movedTo: String)
    }

    /// Opens the catalogue at `path`; one that is corrupt, not a database, of a later schema or
    /// fails `PRAGMA quick_check` is renamed aside and replaced by an empty one. Other failures
    /// (a locked or unreadable file) are thrown: a healthy catalogue is never moved aside.
    public static func open(path: String) throws -> (Catalogue, Opened) {
        let existed = access(path, F_OK) == 0
        do {
            let (c, from) = try attempt(path)
            return (c, existed && from > 0 ? .existing(fromVersion: from) : .created)
        } catch let e as SQLiteError where !e.isCorruption {
            throw e
        } catch {
            let aside = "\(path).bad-\(Int(Timestamp.now()))"
            rename(path, aside)
            unlink(path + "-wal")
            unlink(path + "-shm")
            let (c, _) = try attempt(path)
            return (c, .replaced(reason: "\(error)", movedTo: aside))
        }
    }

    static func attempt(_ path: String) throws -> (Catalogue, Int) {
        let db = try SQLiteDatabase(path: path)
        let check = try db.scalar("PRAGMA quick_check") ?? ""
        guard check == "ok" else { throw SQLiteError(code: SQLITE_CORRUPT, message: "quick_check: \(check)") }
        _ = try db.scalar("PRAGMA journal_mode = WAL")
        try db.execute("PRAGMA synchronous = NORMAL")
        try db.execute("PRAGMA cache_size = -16384")  // 16 MiB: a reconcile of 100,000 files stays in memory
        let from = try CatalogueSchema.migrate(db)
        return (try Catalogue(path: path, db: db), from)
    }

    static let columns = "kind, device, name, size, modified_ns, created_ns, format, duration, resolution, probed"
    static let newest = "ORDER BY created_ns DESC, name DESC"

    init(path: String, db: SQLiteDatabase) throws {
        self.path = path
        self.db = db
        let c = Catalogue.columns
        ordered = try db.prepare("SELECT device, name, created_ns FROM files WHERE kind = ?1 \(Catalogue.newest)")
        findByName = try db.prepare("SELECT \(c) FROM files WHERE kind = ?1 AND name = ?2 \(Catalogue.newest) LIMIT 1")
        findByKey = try db.prepare("SELECT \(c) FROM files WHERE kind = ?1 AND device = ?2 AND name = ?3")
        // A file whose size and time did not change keeps what its probe found.
        upsert = try db.prepare("""
            INSERT INTO files (kind, device, name, size, modified_ns, created_ns, format) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
            ON CONFLICT (kind, device, name) DO UPDATE SET size = excluded.size, modified_ns = excluded.modified_ns,
                created_ns = excluded.created_ns, format = excluded.format, duration = NULL, resolution = NULL, probed = 0
            WHERE files.size != excluded.size OR files.modified_ns != excluded.modified_ns
            """)
        remove = try db.prepare("DELETE FROM files WHERE kind = ?1 AND device = ?2 AND name = ?3")
        knownDevice = try db.prepare("SELECT device, name, size, modified_ns FROM files WHERE kind = ?1 AND device = ?2")
        all = try db.prepare("SELECT \(c) FROM files")
        unprobed = try db.prepare("SELECT \(c) FROM files WHERE kind = ?1 AND probed = 0 LIMIT ?2")
        setProbe = try db.prepare("""
            UPDATE files SET format = ?6, duration = ?7, resolution = ?8, probed = 1
            WHERE kind = ?1 AND device = ?2 AND name = ?3 AND size = ?4 AND modified_ns = ?5
            """)
        getSetting = try db.prepare("SELECT value FROM settings WHERE key = ?1")
        putSetting = try db.prepare("INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
    }

    static func kindCode(_ k: MediaKind) -> Int64 { k == .recordings ? 0 : 1 }

    func row(_ s: SQLiteStatement) -> StoredFile {
        StoredFile(kind: s.int(0) == 0 ? .recordings : .snapshots, device: s.text(1), name: s.text(2), size: Int(s.int(3)),
                   modifiedNs: s.int(4), createdNs: s.int(5), format: s.text(6), duration: s.optionalDouble(7), resolution: s.optionalText(8),
                   probed: s.int(9) != 0)
    }

    func rows(_ s: SQLiteStatement) throws -> [StoredFile] {
        var out: [StoredFile] = []
        while try s.step() { out.append(row(s)) }
        return out
    }

    /// The listing order of `kind`, newest first (for ``PageIndex``; a page with SQL's OFFSET
    /// steps through every row before it).
    public func order(_ kind: MediaKind) throws -> [PageIndex.Entry] {
        try ordered.bind([.int(Catalogue.kindCode(kind))])
        var out: [PageIndex.Entry] = []
        while try ordered.step() { out.append(PageIndex.Entry(createdNs: ordered.int(2), device: ordered.text(0), name: ordered.text(1))) }
        return out
    }

    /// The newest file of `kind` named `name` (names are unique by the contract's scheme; two
    /// cameras' directories holding the same name by hand: the newer one).
    public func find(_ kind: MediaKind, name: String) throws -> StoredFile? {
        try findByName.bind([.int(Catalogue.kindCode(kind)), .text(name)])
        return try findByName.step() ? row(findByName) : nil
    }

    public func find(_ key: FileKey) throws -> StoredFile? {
        try findByKey.bind([.int(Catalogue.kindCode(key.kind)), .text(key.device), .text(key.name)])
        return try findByKey.step() ? row(findByKey) : nil
    }

    /// Adds or updates a file (what a probe found is kept while its size and time are unchanged).
    public func put(_ f: StoredFile) throws {
        try upsert.run([.int(Catalogue.kindCode(f.kind)), .text(f.device), .text(f.name), .of(f.size), .int(f.modifiedNs), .int(f.createdNs), .text(f.format)])
    }

    public func delete(_ key: FileKey) throws {
        try remove.run([.int(Catalogue.kindCode(key.kind)), .text(key.device), .text(key.name)])
    }

    /// What the catalogue knows of one camera's files of `kind`, by name, for a reconcile.
    public func known(_ kind: MediaKind, device: String, capacity: Int = 0) throws -> [String: Reconciler.Known] {
        try knownDevice.bind([.int(Catalogue.kindCode(kind)), .text(device)])
        var out: [String: Reconciler.Known] = [:]
        out.reserveCapacity(capacity)
        while try knownDevice.step() { out[knownDevice.text(1)] = Reconciler.Known(size: Int(knownDevice.int(2)), modifiedNs: knownDevice.int(3)) }
        return out
    }

    /// Applies a reconcile plan (in the caller's transaction).
    public func apply(_ plan: Reconciler.Plan) throws {
        for f in plan.added { try put(f) }
        for f in plan.changed { try put(f) }
        for k in plan.removed { try delete(k) }
    }

    /// Every file (for retention).
    public func everything() throws -> [StoredFile] {
        try all.bind([])
        return try rows(all)
    }

    /// Files of `kind` not probed yet.
    public func unprobed(_ kind: MediaKind, limit: Int) throws -> [StoredFile] {
        try unprobed.bind([.int(Catalogue.kindCode(kind)), .of(limit)])
        return try rows(unprobed)
    }

    /// Records a probe's findings, if the file is still the one probed.
    public func probed(_ f: StoredFile, format: String, duration: Double?, resolution: String?) throws {
        try setProbe.run([.int(Catalogue.kindCode(f.kind)), .text(f.device), .text(f.name), .of(f.size), .int(f.modifiedNs),
                          .text(format), .of(duration), .of(resolution)])
    }

    /// Count and bytes per kind and camera.
    public func totals() throws -> StoreTotals {
        let s = try db.prepare("SELECT kind, device, COUNT(*), SUM(size) FROM files GROUP BY kind, device")
        var t = StoreTotals()
        while try s.step() {
            t.set(s.int(0) == 0 ? .recordings : .snapshots, device: s.text(1), count: Int(s.int(2)), bytes: Int(s.int(3)))
        }
        return t
    }

    public func setting(_ key: String) throws -> String? {
        try getSetting.bind([.text(key)])
        return try getSetting.step() ? getSetting.text(0) : nil
    }

    public func setSetting(_ key: String, _ value: String) throws {
        try putSetting.run([.text(key), .text(value)])
    }
}
