/// The catalogue's schema, versioned with `PRAGMA user_version`: step `i` brings a database
/// at version `i` to `i + 1`, so a catalogue written by any earlier release is migrated in
/// place, and one written by a later release (a version above ``current``) is not trusted.
public enum CatalogueSchema {
    public static let steps: [String] = [
        // 1: files (kind 0 recordings, 1 snapshots; the camera is the subdirectory; times in
        //    nanoseconds as stat gives them) and settings (the retention policy).
        """
        CREATE TABLE files (
            kind INTEGER NOT NULL,
            device TEXT NOT NULL,
            name TEXT NOT NULL,
            size INTEGER NOT NULL,
            modified_ns INTEGER NOT NULL,
            created_ns INTEGER NOT NULL,
            format TEXT NOT NULL,
            duration REAL,
            resolution TEXT,
            probed INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (kind, device, name)
        ) WITHOUT ROWID;
        CREATE INDEX files_newest ON files (kind, created_ns DESC, name DESC);
        CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
        """,
        // 2: a lookup by name and the probe queue without a scan.
        """
        CREATE INDEX files_name ON files (kind, name);
        CREATE INDEX files_unprobed ON files (kind) WHERE probed = 0;
        """,
    ]

    public static var current: Int { steps.count }

    public enum Problem: Error, CustomStringConvertible {
        case newer(Int)
        public var description: String {
            switch self {
            case .newer(let v): return "schema version \(v) is newer than this release's \(CatalogueSchema.current)"
            }
        }
    }

    /// Brings `db` to ``current``; returns the version it had.
    @discardableResult
    public static func migrate(_ db: SQLiteDatabase) throws -> Int {
        let version = try db.userVersion()
        guard version <= current else { throw Problem.newer(version) }
        for v in version..<current {
            try db.transaction {
                try db.execute(steps[v])
                try db.execute("PRAGMA user_version = \(v + 1)")
            }
        }
        return version
    }
}
