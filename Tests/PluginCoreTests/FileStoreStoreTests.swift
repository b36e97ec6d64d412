import FileStoreCore
import Glibc
import PluginAPI
import Testing

struct QuietLog: LogHandler {
    var minimumLevel: LogLevel { .critical }
    func log(_ event: LogEvent) {}
}

/// The store on temporary directories: the in-use rule, reconcile, deletion and retention,
/// without the daemon (the integration tests drive the same through it).
@Suite(.serialized) struct MediaStoreTests {
    func makeStore(_ dir: String, _ extra: JSONObject = [:]) throws -> MediaStore {
        var config: JSONObject = ["recordings_dir": .string(dir + "/rec"), "snapshots_dir": .string(dir + "/snap")]
        for (k, v) in extra { config[k] = v }
        let settings = try FileStoreSettings(config, resolve: { $0 }, data: { dir + "/data/" + $0 })
        return MediaStore(settings: settings, logger: Logger(label: "test", handler: QuietLog()), fakeUsage: "50")
    }

    @Test func aFileBeingWrittenIsListedInUseAndNeverDeleted() async throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        let store = try makeStore(dir)
        try await store.open()
        let camDir = try await store.directory(.recordings, device: "camera0", measured: await store.measure().0)
        #expect(camDir.hasSuffix("/rec/camera0"))
        var st = stat()
        #expect(stat(camDir, &st) == 0 && st.st_mode & 0o777 == 0o750)
        let old = camDir + "/camera0_2020-01-01_00-00-00.mp4", live = camDir + "/camera0_2020-01-02_00-00-00.mp4"
        writeFile(old, Array(repeating: 1, count: 3000))
        writeFile(live, Array(repeating: 2, count: 3000))
        await store.started(.recordings, path: live)
        await store.finished(.recordings, path: old)
        let page = try await store.list(.recordings, device: nil, limit: 10, offset: 0)
        #expect(page.total == 2 && page.files.map(\.filename) == ["camera0_2020-01-02_00-00-00.mp4", "camera0_2020-01-01_00-00-00.mp4"])
        #expect(page.files.map(\.inUse) == [true, false])
        await #expect(throws: RPCError.self) { try await store.delete(.recordings, name: "camera0_2020-01-02_00-00-00.mp4") }
        do {
            try await store.delete(.recordings, name: "camera0_2020-01-02_00-00-00.mp4")
        } catch let e as RPCError {
            #expect(e.code == -32020 && e.data["state"]?.stringValue == "recording")
        }
        // Retention by size (limit 1 KB) removes everything it may: never the live file.
        _ = try await store.setRetentionPolicy(RetentionPolicy(type: .size, enabled: true, maxAgeDays: nil, maxSizeGB: 1e-6))
        let dry = try await store.cleanup(.periodic, dryRun: true, now: 2e9)
        #expect(!dry.executed && dry.files.map(\.filename) == ["camera0_2020-01-01_00-00-00.mp4"] && access(old, F_OK) == 0)
        let report = try await store.cleanup(.periodic, dryRun: false, now: 2e9)
        #expect(report.executed && report.bytesFreed == 3000 && access(old, F_OK) != 0 && access(live, F_OK) == 0)
        // Age: even a very old file in use stays.
        _ = try await store.setRetentionPolicy(RetentionPolicy(type: .age, enabled: true, maxAgeDays: 0, maxSizeGB: nil))
        #expect(try await store.cleanup(.request, dryRun: false, now: 2e9).files.isEmpty)
        // Finished: now it may go.
        await store.finished(.recordings, path: live)
        #expect(try await store.cleanup(.request, dryRun: false, now: 2e9).files.map(\.filename) == ["camera0_2020-01-02_00-00-00.mp4"])
        #expect(try await store.list(.recordings, device: nil, limit: 10, offset: 0).total == 0)
    }

    @Test func theDirectoryIsTheTruth() async throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        let store = try makeStore(dir)
        try await store.open()
        let cam = try await store.directory(.snapshots, device: "camera1", measured: await store.measure().0)
        writeFile(cam + "/a.jpg", [1, 2, 3])
        writeFile(cam + "/.partial.jpg", [1])  // hidden: not a stored file
        writeFile(cam + "/notes.txt", [1])  // not a snapshot type
        symlink("/etc/passwd", cam + "/link.jpg")  // a symlink out of the store: never served
        // Not catalogued yet (no watcher here): an info call finds it on disk.
        #expect(try await store.info(.snapshots, name: "a.jpg").fileSize == 3)
        let counts = try await store.reconcileAll()
        #expect(counts == MediaStore.Counts())  // a.jpg was added by the lookup already
        #expect(try await store.list(.snapshots, device: "camera1", limit: 10, offset: 0).files.map(\.filename) == ["a.jpg"])
        await #expect(throws: RPCError.self) { try await store.info(.snapshots, name: "link.jpg") }
        guard case .failure(.notFound) = await store.openForDownload(.snapshots, name: "link.jpg") else {
            Issue.record("a symlink was opened")
            return
        }
        guard case .failure(.unsafe) = await store.openForDownload(.snapshots, name: "../rec") else {
            Issue.record("an unsafe name was looked up")
            return
        }
        writeFile(cam + "/a.jpg", [1])  // truncated by hand
        unlink(cam + "/b.jpg")
        var c = try await store.reconcileAll()
        #expect(c.changed == 1)
        #expect(try await store.info(.snapshots, name: "a.jpg").fileSize == 1)
        unlink(cam + "/a.jpg")
        c = try await store.reconcileAll()
        #expect(c.removed == 1)
        await #expect(throws: RPCError.self) { try await store.info(.snapshots, name: "a.jpg") }
    }

    @Test func theRescanGoesThroughEveryCameraIncludingOnesWhoseDirectoryIsGone() async throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        let store = try makeStore(dir)
        try await store.open()
        let measured = await store.measure().0
        let cam0 = try await store.directory(.recordings, device: "camera0", measured: measured)
        let cam1 = try await store.directory(.snapshots, device: "camera1", measured: measured)
        writeFile(cam0 + "/camera0_2020-01-01_00-00-00.mp4", [1])
        writeFile(cam1 + "/a.jpg", [1])
        _ = try await store.reconcileAll()
        // By hand, unseen (no watcher here): a file added, a file grown, a camera's directory removed.
        writeFile(cam0 + "/camera0_2020-01-01_00-01-00.mp4", [1, 2])
        writeFile(cam0 + "/camera0_2020-01-01_00-00-00.mp4", [1, 2, 3])
        unlink(cam1 + "/a.jpg")
        rmdir(cam1)
        let counts = try await store.rescanByCamera()
        #expect(counts.added == 1 && counts.changed == 1 && counts.removed == 1)
        #expect(try await store.list(.recordings, device: nil, limit: 10, offset: 0).files.map(\.fileSize) == [2, 3])
        #expect(try await store.list(.snapshots, device: nil, limit: 10, offset: 0).total == 0)
        #expect(try await store.rescanByCamera() == MediaStore.Counts())
    }

    @Test func refusesNewFilesAtTheBlockThreshold() async throws {
        let dir = temporaryDirectory()
        defer { removeTree(dir) }
        let settings = try FileStoreSettings(["recordings_dir": .string(dir + "/rec"), "snapshots_dir": .string(dir + "/snap")],
                                             resolve: { $0 }, data: { dir + "/" + $0 })
        let store = MediaStore(settings: settings, logger: Logger(label: "test", handler: QuietLog()), fakeUsage: "90")
        try await store.open()
        let (info, change) = await store.measure()
        #expect(info.level == .critical && change! == (.normal, .critical))  // the first measurement is a crossing
        do {
            _ = try await store.directory(.recordings, device: "camera0", measured: info)
            Issue.record("not refused")
        } catch let e as RPCError {
            #expect(e.code == -32060 && e.data["usage_percentage"]?.doubleValue == 90)
        }
        #expect(await store.measure().1 == nil)  // once per crossing
    }

    @Test func settingsAreValidated() {
        let bad: [JSONObject] = [["warn_threshold": 90, "block_threshold": 80], ["block_threshold": 101], ["nope": 1],
                                 ["recordings_dir": "x", "snapshots_dir": "x"], ["retention": ["policy_type": "age", "enabled": true]],
                                 ["retention": ["policy_type": "sometimes"]], ["check_interval": "soon"]]
        for c in bad {
            #expect(throws: PluginConfigError.self, "\(c)") { try FileStoreSettings(c, resolve: { "/base/" + $0 }, data: { "/data/" + $0 }) }
        }
        let s = try? FileStoreSettings(["recordings_dir": "media/rec/", "retention": ["policy_type": "size", "enabled": true, "max_size_gb": 2, "interval": "10m"]],
                                       resolve: { "/base/" + $0 }, data: { "/data/" + $0 })
        #expect(s?.recordingsDir == "/base/media/rec" && s?.snapshotsDir == "/data/snapshots" && s?.catalogPath == "/data/file-store.sqlite")
        #expect(s?.retention == RetentionPolicy(type: .size, enabled: true, maxAgeDays: nil, maxSizeGB: 2) && s?.retentionInterval == 600)
    }
}
