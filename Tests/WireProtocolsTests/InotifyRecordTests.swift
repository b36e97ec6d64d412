import Codecs
import Glibc
import Testing

@Suite struct InotifyRecordTests {
    /// A record as the kernel lays it out: header, then the name padded with NULs to `len`.
    func record(wd: Int32, mask: Int32, name: String, len: Int) -> [UInt8] {
        var ev = inotify_event()
        ev.wd = wd
        ev.mask = UInt32(truncatingIfNeeded: mask)
        ev.len = UInt32(len)
        var bytes = withUnsafeBytes(of: &ev) { Array($0) }
        let n = Array(name.utf8)
        bytes += n + [UInt8](repeating: 0, count: len - n.count)
        return bytes
    }

    @Test func decodesConsecutiveRecordsAndDropsThePadding() {
        let bytes = record(wd: 1, mask: IN_CREATE, name: "video0", len: 16) + record(wd: 2, mask: IN_DELETE_SELF, name: "", len: 0)
            + record(wd: 1, mask: IN_MOVED_TO | IN_ISDIR, name: "cam\u{e9}", len: 32)
        let records = bytes.withUnsafeBytes { InotifyRecord.decode($0) }
        #expect(records == [InotifyRecord(wd: 1, mask: UInt32(IN_CREATE), name: Array("video0".utf8)),
                            InotifyRecord(wd: 2, mask: UInt32(IN_DELETE_SELF), name: []),
                            InotifyRecord(wd: 1, mask: UInt32(IN_MOVED_TO | IN_ISDIR), name: Array("cam\u{e9}".utf8))])
        #expect(records[2].has(IN_ISDIR) && records[2].has(IN_CREATE | IN_MOVED_TO) && !records[2].has(IN_DELETE))
    }

    @Test func aRecordCutShortIsDropped() {
        let whole = record(wd: 3, mask: IN_CLOSE_WRITE, name: "a.mp4", len: 16)
        let bytes = whole + Array(record(wd: 3, mask: IN_CLOSE_WRITE, name: "b.mp4", len: 16).dropLast(4))
        #expect(bytes.withUnsafeBytes { InotifyRecord.decode($0) }.map(\.name) == [Array("a.mp4".utf8)])
        #expect(Array(whole.prefix(10)).withUnsafeBytes { InotifyRecord.decode($0) }.isEmpty)
    }

    @Test func drainsARealDescriptor() throws {
        let dir = "/tmp/inotify-record-test-\(getpid())"
        mkdir(dir, 0o700)
        defer { rmdir(dir) }
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        try #require(fd >= 0)
        defer { close(fd) }
        let wd = inotify_add_watch(fd, dir, UInt32(IN_CREATE | IN_DELETE))
        try #require(wd >= 0)
        var buffer = [UInt8](repeating: 0, count: 64)  // smaller than all records: read in several calls
        #expect(InotifyRecord.drain(fd, buffer: &buffer).isEmpty)
        for i in 0..<5 {
            let path = "\(dir)/file-\(i)"
            close(open(path, O_CREAT | O_WRONLY, 0o600))
            unlink(path)
        }
        let records = InotifyRecord.drain(fd, buffer: &buffer)
        #expect(records.count == 10 && records.allSatisfy { $0.wd == wd })
        #expect(records.filter { $0.has(IN_CREATE) }.map { String(decoding: $0.name, as: UTF8.self) } == (0..<5).map { "file-\($0)" })
    }
}
