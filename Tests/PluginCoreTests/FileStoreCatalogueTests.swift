import FileStoreCore
import Glibc
import PluginAPI
import Testing

/// A fresh directory under /tmp, removed by the caller with `removeTree`.
func temporaryDirectory() -> String {
    var template = Array("/tmp/filestore-test-XXXXXX".utf8CString)
    let path = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    return String(cString: path!)
}

func removeTree(_ path: String) {
    var st = stat()
    guard lstat(path, &st) == 0 else { return }
    if st.st_mode & S_IFMT == S_IFDIR, let d = opendir(path) {
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: &e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { removeTree(path + "/" + name) }
        }
        closedir(d)
        rmdir(path)
    } else {
        unlink(path)
    }
}

func writeFile(_ path: String, _ bytes: [UInt8]) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
}

@Suite(.serialized) struct CatalogueTests {
    @Test func freshCatalogueIsAtTheCurrentVersion() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        let (c, opened) = try Catalogue.open(path: dir + "/c.sqlite")
        #expect(opened == .created)
        #expect(try c.db.userVersion() == CatalogueSchema.current)
        #expect(try c.db.scalar("PRAGMA journal_mode") == "wal")
    }

    @Test func migratesAVersion1CatalogueKeepingItsRows() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        do {
            let db = try SQLiteDatabase(path: dir + "/c.sqlite")
            try db.execute(CatalogueSchema.steps[0])
            try db.execute("PRAGMA user_version = 1")
            try db.execute("INSERT INTO files VALUES (0, 'camera0', 'a.mp4', 10, 5, 5, 'mp4', 2.5, '320x240', 1)")
            try db.execute(#"INSERT INTO settings VALUES ('retention_policy', '{"policy_type":"age","enabled":true,"max_age_days":3}')"#)
        }
        let (c, opened) = try Catalogue.open(path: dir + "/c.sqlite")
        #expect(opened == .existing(fromVersion: 1))
        #expect(try c.db.userVersion() == CatalogueSchema.current)
        let f = try c.find(.recordings, name: "a.mp4")
        #expect(f?.duration == 2.5 && f?.resolution == "320x240" && f?.probed == true)
        #expect(try c.db.scalar("SELECT count(*) FROM sqlite_master WHERE name = 'files_name'") == "1")
        #expect(try c.setting("retention_policy")?.contains("\"age\"") == true)
    }

    @Test func corruptOrNewerCataloguesAreReplaced() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        writeFile(dir + "/c.sqlite", Array(repeating: 0x5A, count: 4096))
        let (_, opened) = try Catalogue.open(path: dir + "/c.sqlite")
        guard case .replaced(_, let aside) = opened else {
            Issue.record("not replaced: \(opened)")
            return
        }
        #expect(access(aside, F_OK) == 0)
        do {
            let db = try SQLiteDatabase(path: dir + "/n.sqlite")
            try db.execute("PRAGMA user_version = 99")
        }
        let (c, newer) = try Catalogue.open(path: dir + "/n.sqlite")
        guard case .replaced(let reason, _) = newer else {
            Issue.record("not replaced: \(newer)")
            return
        }
        #expect(reason.contains("99"))
        #expect(try c.db.userVersion() == CatalogueSchema.current)
    }

    @Test func anUnopenableCatalogueIsNotMovedAside() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        mkdir(dir + "/c.sqlite", 0o755)  // a directory where the file should be: not corruption
        #expect(throws: SQLiteError.self) { try Catalogue.open(path: dir + "/c.sqlite") }
        var st = stat()
        #expect(stat(dir + "/c.sqlite", &st) == 0 && st.st_mode & S_IFMT == S_IFDIR)
    }

    @Test func ordersNewestFirstAndKeepsProbesOfUnchangedFiles() throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        let (c, _) = try Catalogue.open(path: dir + "/c.sqlite")
        for i in 0..<10 {
            try c.put(StoredFile(kind: .recordings, device: i % 2 == 0 ? "camera0" : "camera1", name: "r\(i).mp4", size: i, modifiedNs: Int64(i),
                                 createdNs: Int64(i), format: "mp4"))
        }
        try c.put(StoredFile(kind: .snapshots, device: "camera0", name: "s.jpg", size: 1, modifiedNs: 1, createdNs: 1, format: "jpg"))
        let order = try c.order(.recordings)
        #expect(order.map(\.name) == (0..<10).reversed().map { "r\($0).mp4" })
        var idx = PageIndex()
        idx.replace(.recordings, with: order.shuffled())
        #expect(idx.page(.recordings, device: nil, offset: 8, limit: 3).map(\.name) == ["r1.mp4", "r0.mp4"])
        #expect(idx.page(.recordings, device: "camera1", offset: 1, limit: 2).map(\.name) == ["r7.mp4", "r5.mp4"])
        let t = try c.totals()
        #expect(t.figures(.recordings).count == 10 && t.figures(.recordings).bytes == 45 && t.figures(.snapshots, device: "camera0").count == 1)
        let r3 = try #require(try c.find(.recordings, name: "r3.mp4"))
        try c.probed(r3, format: "fmp4", duration: 4, resolution: "640x480")
        try c.put(r3)  // the same size and time: the probe stays
        #expect(try c.find(.recordings, name: "r3.mp4")?.duration == 4)
        var grown = r3
        grown.size = 99
        try c.put(grown)  // changed: probed again
        let after = try c.find(.recordings, name: "r3.mp4")
        #expect(after?.probed == false && after?.duration == nil && after?.format == "mp4" && after?.size == 99)
    }
}
