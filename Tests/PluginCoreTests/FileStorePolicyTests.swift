import FileStoreCore
import PluginAPI
import Testing

func stored(_ name: String, kind: MediaKind = .recordings, size: Int, ageDays: Double, now: Double = 1_000_000_000) -> StoredFile {
    let t = Int64((now - ageDays * 86400) * 1e9)
    return StoredFile(kind: kind, device: "camera0", name: name, size: size, modifiedNs: t, createdNs: t, format: "mp4")
}

@Suite struct RetentionPlannerTests {
    let now = 1_000_000_000.0
    var files: [StoredFile] {
        [stored("d.mp4", size: 100, ageDays: 1), stored("a.mp4", size: 100, ageDays: 40), stored("c.jpg", kind: .snapshots, size: 50, ageDays: 10),
         stored("b.mp4", size: 100, ageDays: 35)]
    }

    @Test func byAgeOldestFirstNeverInUse() {
        let p = RetentionPolicy(type: .age, enabled: true, maxAgeDays: 7, maxSizeGB: nil)
        let plan = RetentionPlanner.plan(files, now: now, policy: p, inUse: [], trigger: .periodic)
        #expect(plan.map(\.name) == ["a.mp4", "b.mp4", "c.jpg"])  // snapshots age too
        let inUse: Set<FileKey> = [FileKey(kind: .recordings, device: "camera0", name: "a.mp4")]
        #expect(RetentionPlanner.plan(files, now: now, policy: p, inUse: inUse, trigger: .periodic).map(\.name) == ["b.mp4", "c.jpg"])
    }

    @Test func bySizeOldestUntilUnderTheLimit() {
        // 350 bytes in the store; limit 200: the two oldest go (a, b), leaving 150.
        let p = RetentionPolicy(type: .size, enabled: true, maxAgeDays: 7, maxSizeGB: 200e-9)
        #expect(RetentionPlanner.plan(files, now: now, policy: p, inUse: [], trigger: .periodic).map(\.name) == ["a.mp4", "b.mp4"])
        // The oldest is being written: it still counts, is kept, and the next ones go instead.
        let inUse: Set<FileKey> = [FileKey(kind: .recordings, device: "camera0", name: "a.mp4")]
        #expect(RetentionPlanner.plan(files, now: now, policy: p, inUse: inUse, trigger: .periodic).map(\.name) == ["b.mp4", "c.jpg"])
        // Under the limit: nothing.
        let roomy = RetentionPolicy(type: .size, enabled: true, maxAgeDays: nil, maxSizeGB: 1)
        #expect(RetentionPlanner.plan(files, now: now, policy: roomy, inUse: [], trigger: .periodic).isEmpty)
    }

    @Test func manualAndDisabled() {
        let manual = RetentionPolicy(type: .manual, enabled: true, maxAgeDays: 30, maxSizeGB: 100e-9)
        #expect(RetentionPlanner.plan(files, now: now, policy: manual, inUse: [], trigger: .periodic).isEmpty)
        // A request applies both limits: a and b by age (150 left), then c by size (150 > 100).
        #expect(RetentionPlanner.plan(files, now: now, policy: manual, inUse: [], trigger: .request).map(\.name) == ["a.mp4", "b.mp4", "c.jpg"])
        let off = RetentionPolicy(type: .age, enabled: false, maxAgeDays: 1, maxSizeGB: nil)
        #expect(RetentionPlanner.plan(files, now: now, policy: off, inUse: [], trigger: .request).isEmpty)
        let noLimit = RetentionPolicy(type: .manual, enabled: true, maxAgeDays: nil, maxSizeGB: nil)
        #expect(RetentionPlanner.plan(files, now: now, policy: noLimit, inUse: [], trigger: .request).isEmpty)
    }
}

@Suite struct LevelTrackerTests {
    @Test func crossingsOnceWithHysteresis() {
        var t = LevelTracker(warnPercent: 80, blockPercent: 90)
        #expect(t.update(50) == nil && t.level == .normal)
        #expect(t.update(80)! == (.normal, .warning))
        #expect(t.update(80.5) == nil)
        #expect(t.update(79.5) == nil)  // hovering at the threshold: no flapping
        #expect(t.update(80.2) == nil)
        #expect(t.update(78.9)! == (.warning, .normal))
        #expect(t.update(95)! == (.normal, .critical))  // both thresholds at once: one change
        #expect(t.update(89.5) == nil)
        #expect(t.update(88.5)! == (.critical, .warning))
        #expect(t.update(91)! == (.warning, .critical))
        #expect(t.update(10)! == (.critical, .normal))
    }

    @Test func firstMeasurementAboveTheWarnThreshold() {
        var t = LevelTracker(warnPercent: 80, blockPercent: 90)
        #expect(t.update(92)! == (.normal, .critical))
        #expect(t.update(92) == nil)
    }
}

@Suite struct ReconcilerTests {
    @Test func addsChangesAndRemoves() {
        let a = stored("a.mp4", size: 10, ageDays: 1), b = stored("b.mp4", size: 20, ageDays: 1), c = stored("c.mp4", size: 30, ageDays: 1)
        var truncated = b
        truncated.size = 5
        let known: [String: Reconciler.Known] = [
            "a.mp4": Reconciler.Known(size: 10, modifiedNs: a.modifiedNs), "b.mp4": Reconciler.Known(size: 20, modifiedNs: b.modifiedNs),
            "gone.mp4": Reconciler.Known(size: 1, modifiedNs: 0),
        ]
        let plan = Reconciler.plan(.recordings, device: "camera0", scanned: [a, truncated, c], known: known)
        #expect(plan.added == [c] && plan.changed == [truncated])
        #expect(plan.removed == [FileKey(kind: .recordings, device: "camera0", name: "gone.mp4")])
        #expect(Reconciler.plan(.recordings, device: "camera0", scanned: [a], known: ["a.mp4": Reconciler.Known(size: 10, modifiedNs: a.modifiedNs)]).isEmpty)
    }
}

@Suite struct MP4BoxesTests {
    func box(_ type: String, _ payload: [UInt8] = []) -> [UInt8] {
        let n = UInt32(8 + payload.count)
        return [UInt8(n >> 24), UInt8(n >> 16 & 255), UInt8(n >> 8 & 255), UInt8(n & 255)] + Array(type.utf8) + payload
    }
    func fragmented(_ bytes: [UInt8]) -> Bool? {
        MP4Boxes.isFragmented(size: bytes.count) { offset, count in
            offset < bytes.count ? Array(bytes[offset..<min(bytes.count, offset + count)]) : nil
        }
    }

    @Test func plainFragmentedAndNot() {
        let ftyp = box("ftyp", Array("isom".utf8) + [0, 0, 2, 0])
        #expect(fragmented(ftyp + box("free") + box("mdat", [1, 2, 3]) + box("moov", box("mvhd", [0, 0, 0, 0]))) == false)
        #expect(fragmented(ftyp + box("moov", box("mvhd") + box("mvex", box("trex"))) + box("moof") + box("mdat")) == true)
        #expect(fragmented(ftyp + box("moov") + box("moof")) == true)
        #expect(fragmented(Array("not a media file at all".utf8)) == nil)
    }
}

@Suite struct ProbeResultTests {
    @Test func parsesFFprobeJSON() {
        let out = #"{"programs":[],"streams":[{"codec_type":"audio"},{"codec_type":"video","width":320,"height":240}],"format":{"duration":"2.000000"}}"#
        #expect(ProbeResult.parse(Array(out.utf8)) == ProbeResult(duration: 2, resolution: "320x240"))
        #expect(ProbeResult.parse(Array(#"{"streams":[{"codec_type":"video","width":640,"height":480}],"format":{}}"#.utf8))
                == ProbeResult(duration: nil, resolution: "640x480"))
        #expect(ProbeResult.parse(Array("garbage".utf8)) == nil)
    }
}

@Suite struct PageIndexTests {
    func e(_ t: Int64, _ name: String, _ device: String = "camera0") -> PageIndex.Entry { PageIndex.Entry(createdNs: t, device: device, name: name) }

    @Test func ordersNewestFirstThenByNameBytes() {
        var idx = PageIndex()
        idx.replace(.recordings, with: [e(1, "a"), e(3, "b", "camera1"), e(2, "c"), e(2, "é"), e(2, "z")])
        // Same time: names in descending byte order ("é" is 0xC3 0xA9, after "z").
        #expect(idx.page(.recordings, device: nil, offset: 0, limit: 10).map(\.name) == ["b", "é", "z", "c", "a"])
        #expect(idx.page(.recordings, device: "camera0", offset: 1, limit: 2).map(\.name) == ["z", "c"])
        #expect(idx.count(.recordings, device: nil) == 5 && idx.count(.recordings, device: "camera1") == 1 && idx.count(.snapshots, device: nil) == 0)
        idx.insert(e(4, "new", "camera2"), .recordings)
        idx.insert(e(2, "d"), .recordings)
        idx.insert(e(2, "d"), .recordings)  // twice: once
        #expect(idx.page(.recordings, device: nil, offset: 0, limit: 10).map(\.name) == ["new", "b", "é", "z", "d", "c", "a"])
        idx.remove(e(3, "b", "camera1"), .recordings)
        idx.remove(e(9, "absent"), .recordings)
        #expect(idx.page(.recordings, device: nil, offset: 5, limit: 10).map(\.name) == ["a"])
        #expect(idx.count(.recordings, device: "camera1") == 0 && idx.page(.recordings, device: nil, offset: 99, limit: 5).isEmpty)
    }
}

@Suite struct FileTimesTests {
    let later: Int64 = 2_000_000_000 * 1_000_000_000

    @Test func theNamesStampIsTheCreationTime() {
        // 2026-12-02T04:01:35Z
        #expect(FileTimes.createdNs(name: "cam0_2026-12-02_04-01-35.mp4", device: "cam0", modifiedNs: later) == 1_796_184_095 * 1_000_000_000)
        #expect(FileTimes.createdNs(name: "cam0_2024-02-29_23-59-59_extra.jpg", device: "cam0", modifiedNs: later) == 1_709_251_199 * 1_000_000_000)
    }

    @Test func otherwiseTheModificationTime() {
        for name in ["cam1_2026-12-02_04-01-35.mp4", "cam0_2026-13-02_04-01-35.mp4", "cam0_2026-12-02T04-01-35.mp4", "cam0_2026-12-02_24-00-00.mp4", "cam0_2026-02-30_04-01-35.mp4",
                     "cam0_1969-12-31_23-59-59.mp4", "holiday.mp4", "cam0_2026-12"] {
            #expect(FileTimes.createdNs(name: name, device: "cam0", modifiedNs: 42) == 42, "\(name)")
        }
        // A stamp later than the file's modification is not believed.
        #expect(FileTimes.createdNs(name: "cam0_2026-12-02_04-01-35.mp4", device: "cam0", modifiedNs: 42) == 42)
    }
}
