import FileStoreCore
import PluginAPI
import Testing

@Suite struct ByteRangeTests {
    @Test func singleRanges() {
        #expect(ByteRange.parse(nil, size: 100) == .whole)
        #expect(ByteRange.parse("bytes=0-0", size: 100) == .partial(first: 0, last: 0))  // first byte
        #expect(ByteRange.parse("bytes=99-99", size: 100) == .partial(first: 99, last: 99))  // last byte
        #expect(ByteRange.parse("bytes=99-", size: 100) == .partial(first: 99, last: 99))
        #expect(ByteRange.parse("bytes=10-", size: 100) == .partial(first: 10, last: 99))
        #expect(ByteRange.parse("bytes=10-1000", size: 100) == .partial(first: 10, last: 99))  // end clipped
        #expect(ByteRange.parse("bytes=-10", size: 100) == .partial(first: 90, last: 99))  // suffix
        #expect(ByteRange.parse("bytes=-1000", size: 100) == .partial(first: 0, last: 99))  // suffix longer than the file
        #expect(ByteRange.parse("Bytes = 5-9 ", size: 100) == .whole)  // spaces around '=' are not allowed
        #expect(ByteRange.parse("BYTES=5-9", size: 100) == .partial(first: 5, last: 9))  // the unit is case-insensitive
        #expect(ByteRange.parse("bytes= 5 - 9", size: 100) == .partial(first: 5, last: 9))
    }

    @Test func unsatisfiable() {
        #expect(ByteRange.parse("bytes=100-", size: 100) == .unsatisfiable)  // past the end
        #expect(ByteRange.parse("bytes=100-200", size: 100) == .unsatisfiable)
        #expect(ByteRange.parse("bytes=-0", size: 100) == .unsatisfiable)
        #expect(ByteRange.parse("bytes=0-", size: 0) == .unsatisfiable)  // an empty file has no bytes
        #expect(ByteRange.parse("bytes=-5", size: 0) == .unsatisfiable)
    }

    @Test func ignoredAsTheRFCAllows() {
        for h in ["bytes=0-1,5-6", "bytes=5-2", "bytes=abc", "bytes=", "bytes=-", "items=0-1", "bytes=+1-2", "bytes=1-2-3",
                  "bytes=99999999999999999999-", "bytes=0x10-", ""] {
            #expect(ByteRange.parse(h, size: 100) == .whole, "\(h)")
        }
    }
}

@Suite struct DownloadPlanTests {
    let file = DownloadPlan.FileIdentity(size: 1000, inode: 42, modifiedNanoseconds: 1_700_000_000_123_456_789, contentType: "video/mp4")

    func plan(_ headers: [String: String]) -> DownloadPlan { DownloadPlan.make(file) { headers[$0] } }
    func header(_ p: DownloadPlan, _ name: String) -> String? { p.headers.first { $0.0 == name }?.1 }

    @Test func wholeFile() {
        let p = plan([:])
        #expect(p.status == 200 && p.offset == 0 && p.length == 1000)
        #expect(header(p, "Content-Type") == "video/mp4" && header(p, "Accept-Ranges") == "bytes")
        #expect(header(p, "Last-Modified") == "Tue, 14 Nov 2023 22:13:20 GMT")
        #expect(header(p, "ETag") == file.etag && file.etag.hasPrefix("\"2a-3e8-"))
    }

    @Test func partialAndUnsatisfiable() {
        let p = plan(["range": "bytes=-100"])
        #expect(p.status == 206 && p.offset == 900 && p.length == 100 && header(p, "Content-Range") == "bytes 900-999/1000")
        let q = plan(["range": "bytes=1000-"])
        #expect(q.status == 416 && q.length == 0 && header(q, "Content-Range") == "bytes */1000")
        // If-Range with the current validator keeps the range; another one gets the whole file.
        #expect(plan(["range": "bytes=0-9", "if-range": file.etag]).status == 206)
        #expect(plan(["range": "bytes=0-9", "if-range": "\"other\""]).status == 200)
    }

    @Test func conditional() {
        #expect(plan(["if-none-match": file.etag]).status == 304)
        #expect(plan(["if-none-match": "\"x\", W/\(file.etag)"]).status == 304)
        #expect(plan(["if-none-match": "*"]).status == 304)
        #expect(plan(["if-none-match": "\"x\""]).status == 200)
        #expect(plan(["if-modified-since": "Tue, 14 Nov 2023 22:13:20 GMT"]).status == 304)
        #expect(plan(["if-modified-since": "Tue, 14 Nov 2023 22:13:19 GMT"]).status == 200)
        #expect(plan(["if-modified-since": "yesterday"]).status == 200)
        // If-None-Match wins over If-Modified-Since.
        #expect(plan(["if-none-match": "\"x\"", "if-modified-since": "Tue, 14 Nov 2023 22:13:20 GMT"]).status == 200)
        let p = plan(["if-none-match": file.etag])
        #expect(header(p, "ETag") == file.etag && header(p, "Content-Type") == nil && p.length == 0)
    }
}

@Suite struct MediaNameTests {
    @Test func unsafeNames() {
        let unsafe: [[UInt8]] = [Array("a/b.mp4".utf8), Array("a\\b.mp4".utf8), Array("..".utf8), Array("a..b".utf8), Array("../x".utf8),
                                 [0x61, 0x00, 0x62], [0x61, 0x01], [0x61, 0x7F], Array("a\u{202E}b".utf8), Array("a\u{85}b".utf8),
                                 [0x61, 0xFF, 0x62], [0xC0, 0xAF], [], Array(repeating: 0x61, count: 256)]
        for u in unsafe { #expect(MediaName.validated(u) == nil, "\(u)") }
    }

    @Test func safeNames() {
        for n in ["camera0_2026-01-01_10-00-00.mp4", "café.jpg", "a b.png", ".hidden.mp4", "x.y.z.mkv", String(repeating: "a", count: 255)] {
            #expect(MediaName.validated(Array(n.utf8)) == n)
        }
        #expect(MediaName.percentEncoded("a b/é%.mp4") == "a%20b%2F%C3%A9%25.mp4")
        #expect(MediaName.percentEncoded("camera0_2026-01-01.mp4") == "camera0_2026-01-01.mp4")
    }

    @Test func types() {
        #expect(MediaType.of("a.MP4", kind: .recordings) == MediaType(format: "mp4", contentType: "video/mp4"))
        #expect(MediaType.of("a.mkv", kind: .recordings)?.contentType == "video/x-matroska")
        #expect(MediaType.of("a.jpeg", kind: .snapshots)?.format == "jpg")
        #expect(MediaType.of("a.png", kind: .snapshots)?.contentType == "image/png")
        #expect(MediaType.of("a.jpg", kind: .recordings) == nil && MediaType.of("a.mp4", kind: .snapshots) == nil)
        #expect(MediaType.of("mp4", kind: .recordings) == nil && MediaType.of(".mp4", kind: .recordings) == nil)
    }

    @Test func routeTargets() {
        #expect(DownloadRoute.target("/files/recordings/a.mp4") == .file(.recordings, "a.mp4"))
        #expect(DownloadRoute.target("/files/snapshots/caf%C3%A9%20x.jpg") == .file(.snapshots, "café x.jpg"))
        for p in ["/files/recordings/..%2Fx.mp4", "/files/recordings/%2e%2e", "/files/recordings/a%00b.mp4", "/files/recordings/a%2fb",
                  "/files/recordings/../../etc/passwd", "/files/recordings/a/b.mp4", "/files/recordings/%FF.mp4", "/files/recordings/a%5Cb",
                  "/files/recordings/a%zz", "/files/recordings/%0a.mp4", "/files/recordings/%7F"] {
            guard case .refused(400, _) = DownloadRoute.target(p) else {
                Issue.record("\(p) not refused with 400: \(DownloadRoute.target(p))")
                continue
            }
        }
        for p in ["/files/other/a.mp4", "/files/recordings/", "/files/recordings", "/files/"] {
            guard case .refused(404, _) = DownloadRoute.target(p) else {
                Issue.record("\(p) not 404: \(DownloadRoute.target(p))")
                continue
            }
        }
    }

    @Test func creationTimeFromTheName() {
        let mtime: Int64 = 1_767_300_000 * 1_000_000_000  // 2026-01-01T20:40:00Z
        #expect(FileTimes.createdNs(name: "camera0_2026-01-01_10-00-00.mp4", device: "camera0", modifiedNs: mtime) == 1_767_261_600 * 1_000_000_000)
        #expect(FileTimes.createdNs(name: "camera0_2026-01-01_10-00-00_123-2.jpg", device: "camera0", modifiedNs: mtime) == 1_767_261_600 * 1_000_000_000)
        #expect(FileTimes.createdNs(name: "camera0_2027-01-01_10-00-00.mp4", device: "camera0", modifiedNs: mtime) == mtime)  // later than written
        #expect(FileTimes.createdNs(name: "other_2026-01-01_10-00-00.mp4", device: "camera0", modifiedNs: mtime) == mtime)
        #expect(FileTimes.createdNs(name: "camera0_2026-13-01_10-00-00.mp4", device: "camera0", modifiedNs: mtime) == mtime)
        #expect(FileTimes.createdNs(name: "clip.mp4", device: "camera0", modifiedNs: mtime) == mtime)
    }
}
