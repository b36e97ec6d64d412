import FFmpegCaptureCore
import PluginAPI
import Synchronization
import Testing

@Suite struct SnapshotPolicyTests {
    let v4l2 = CaptureInput(ffmpegArguments: ["-f", "v4l2", "-i", "/dev/video0"], resolution: "640x480", frameRate: FrameRate(fps: 30),
                            codec: .raw, pixelFormat: "yuyv422", exclusive: true)
    let lavfi = CaptureInput(ffmpegArguments: ["-f", "lavfi", "-i", "testsrc"], resolution: "640x480", frameRate: FrameRate(fps: 30),
                             codec: .raw, pixelFormat: "", exclusive: false)

    @Test func tiersFollowTheStream() {
        #expect(SnapshotPlan.choose(stream: StreamReadiness(backendAvailable: true, ready: true, publisherActive: true), input: v4l2) == .fromStream)
        #expect(SnapshotPlan.choose(stream: StreamReadiness(backendAvailable: true, ready: false, publisherActive: false), input: v4l2) == .startStream)
        #expect(SnapshotPlan.choose(stream: nil, input: v4l2) == .direct)
        #expect(SnapshotPlan.choose(stream: StreamReadiness(backendAvailable: false, ready: false, publisherActive: false), input: v4l2) == .direct)
        #expect(SnapshotPlan.choose(stream: nil, input: nil).tier == nil)
        #expect(SnapshotPlan.fromStream.tier == .stream && SnapshotPlan.startStream.tier == .startedStream && SnapshotPlan.direct.tier == .direct)
    }

    @Test func aDeviceHeldByThePublisherIsNeverOpenedAgain() {
        let held = StreamReadiness(backendAvailable: false, ready: false, publisherActive: true)
        if case .impossible(let why) = SnapshotPlan.choose(stream: held, input: v4l2) { #expect(why.contains("held")) } else { Issue.record("opened a held device") }
        #expect(SnapshotPlan.fallback(after: .fromStream, stream: held, input: v4l2) == nil)
        // A test pattern has any number of readers: direct is fine.
        #expect(SnapshotPlan.choose(stream: held, input: lavfi) == .direct)
        #expect(SnapshotPlan.fallback(after: .fromStream, stream: held, input: lavfi) == .direct)
        #expect(SnapshotPlan.fallback(after: .direct, stream: nil, input: lavfi) == nil)
        #expect(RecordingSource.choose(stream: StreamReadiness(backendAvailable: true, ready: false, publisherActive: false), input: v4l2) == .stream)
        #expect(RecordingSource.choose(stream: nil, input: v4l2) == .direct)
        if case .impossible = RecordingSource.choose(stream: held, input: v4l2) {} else { Issue.record("recorded a held device") }
    }
}

@Suite struct CaptureFormatTests {
    @Test func jpegFramesAreCutWhole() {
        let a: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x02, 0x11, 0xFF, 0x00, 0x22, 0xFF, 0xD9]
        let b: [UInt8] = [0xFF, 0xD8, 0x33, 0xFF, 0xD9]
        var s = JPEGSplitter()
        #expect(s.feed([0x00, 0x01] + a.prefix(5)) == [])
        #expect(s.feed(Array(a.dropFirst(5)) + b.prefix(4)) == [a])  // noise before the first SOI is skipped
        #expect(s.feed([0xD9]) == [b])
        var small = JPEGSplitter(maxImageBytes: 8)
        #expect(small.feed([0xFF, 0xD8] + [UInt8](repeating: 7, count: 20)) == [])  // too big: dropped, memory bounded
        #expect(small.feed(b) == [b])
    }

    @Test func imageSizes() {
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]
        png += [0, 0, 5, 0, 0, 0, 2, 208]
        #expect(ImageSize.of(png)?.width == 1280 && ImageSize.of(png)?.height == 720)
        let jpeg: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00, 0xFF, 0xC0, 0x00, 0x11, 0x08, 0x00, 0xF0, 0x01, 0x40, 0x03, 0, 0, 0, 0]
        #expect(ImageSize.of(jpeg)?.width == 320 && ImageSize.of(jpeg)?.height == 240)
        #expect(ImageSize.of([1, 2, 3]) == nil)
    }

    @Test func qualityToQscale() {
        #expect(CaptureSettings.qscale(100) == 2 && CaptureSettings.qscale(1) == 31 && CaptureSettings.qscale(85) == 6)
        #expect(CaptureSettings.qscale(500) == 2 && CaptureSettings.qscale(-3) == 31)
    }

    @Test func segmentLines() {
        #expect(SegmentLog.opened("[segment @ 0x55] Opening '/data/rec/cam0/cam0_2026-12-01_10-00-00.mp4' for writing", directory: "/data/rec/cam0")
                == "cam0_2026-12-01_10-00-00.mp4")
        #expect(SegmentLog.opened("[segment @ 0x55] Opening 'pipe:1' for writing", directory: "/data/rec/cam0") == nil)
        #expect(SegmentLog.opened("[segment @ 0x55] Opening '/elsewhere/x.mp4' for writing", directory: "/data/rec/cam0") == nil)
        let c = SegmentLog.completed("cam0_2026-12-01_10-00-00.mp4,0.000000,2.000000")
        #expect(c?.name == "cam0_2026-12-01_10-00-00.mp4" && c?.start == 0 && c?.end == 2)
        #expect(SegmentLog.completed("frame=  1 fps=0") == nil && SegmentLog.completed("a,b,c") == nil)
    }

    @Test func recordingCommands() throws {
        let input = CaptureInput(ffmpegArguments: ["-re", "-f", "lavfi", "-i", "testsrc"], resolution: "320x240", frameRate: FrameRate(15, 2)!,
                                 codec: .raw, pixelFormat: "", exclusive: false)
        let s = try CaptureSettings([:])
        let copy = FFmpegCommands.record(source: .stream, url: "rtsp://127.0.0.1:8554/cam0", input: input, format: .fmp4, directory: "/r/cam0",
                                         device: "cam0", segmentSeconds: 60, duration: 5, settings: s).joined(separator: " ")
        #expect(copy.contains("-rtsp_transport tcp -i rtsp://127.0.0.1:8554/cam0 -map 0:v -c:v copy -t 5"))
        #expect(copy.contains("-flush_packets 1 -f segment -segment_time 60 -segment_format mp4 -segment_format_options movflags=+frag_keyframe+empty_moov+default_base_moof:flush_packets=1"))
        #expect(copy.hasSuffix("-strftime 1 -segment_list pipe:1 -segment_list_type csv /r/cam0/cam0_%Y-%m-%d_%H-%M-%S.mp4"))
        let direct = FFmpegCommands.record(source: .direct, url: nil, input: input, format: .mkv, directory: "/r/cam0", device: "cam0",
                                           segmentSeconds: 2.5, duration: nil, settings: s).joined(separator: " ")
        #expect(direct.contains("-re -f lavfi -i testsrc -map 0:v -c:v libx264 -preset veryfast") && direct.contains("-g 8 "))
        #expect(direct.contains("-segment_time 2.5 -segment_format matroska") && direct.hasSuffix(".mkv") && !direct.contains(" -t "))
        let grab = FFmpegCommands.grabFromStream(url: "rtsp://x/cam0", format: .png, qscale: 2, output: "/s/a%20b.png")
        #expect(grab.suffix(7) == ["-c:v", "png", "-f", "image2", "-update", "1", "/s/a%20b.png"])
    }

    @Test func settingsNameTheirKey() {
        for (config, key) in [(["segment_duration": 1], "segment_duration"), (["default_format": "avi"], "default_format"),
                              (["jpeg_quality": 0], "jpeg_quality"), (["nope": true], "nope")] as [(JSONObject, String)] {
            do {
                _ = try CaptureSettings(config)
                Issue.record("\(config) accepted")
            } catch {
                #expect(error.key == key)
            }
        }
    }

    @Test func semaphoreBoundsAndTimesOut() async {
        let sem = AsyncSemaphore(limit: 1)
        #expect(await sem.wait(timeout: 1))
        #expect(await sem.wait(timeout: 0.05) == false)  // held: the second times out
        let got = Mutex(false)
        let waiter = Task {
            let ok = await sem.wait(timeout: 2)
            got.withLock { $0 = ok }
        }
        try? await Task.sleep(for: .milliseconds(50))
        #expect(sem.waiting == 1)
        sem.signal()
        await waiter.value
        #expect(got.withLock { $0 })
    }
}
