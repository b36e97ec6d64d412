import Codecs
@testable import MediaMTXBackendCore
import PluginAPI
import Testing

@Suite struct CircuitBreakerTests {
    var settings: CircuitBreaker.Settings {
        var s = CircuitBreaker.Settings()
        s.failureThreshold = 3
        s.confirmations = 2
        s.baseBackoff = 1
        s.maxBackoff = 8
        s.jitter = 0.2
        return s
    }

    @Test func opensAfterTheThresholdAndBacksOff() {
        var b = CircuitBreaker(settings: settings)
        let allowed1 = b.allows(now: 0)
        #expect(allowed1 && b.stateName == "closed")
        b.failed(now: 0, error: "refused", random: 0.5)
        b.failed(now: 0.1, error: "refused", random: 0.5)
        #expect(b.stateName == "closed")
        b.succeeded(now: 0.2)  // a success resets the count
        for i in 0..<3 { b.failed(now: 1 + Double(i) * 0.1, error: "refused", random: 0.5) }
        #expect(b.stateName == "open" && b.lastError == "refused")
        let blocked = b.allows(now: 1.5)
        #expect(!blocked)  // open: nothing waits on a dead socket
        #expect(b.retryAt == 1.2 + 1)  // random 0.5: no jitter
        // Past the retry time: a probe goes out (half-open); it fails: reopened, twice as long.
        let allowed2 = b.allows(now: 2.3)
        #expect(allowed2 && b.stateName == "half_open")
        b.failed(now: 2.3, error: "timeout", random: 0.5)
        #expect(b.stateName == "open" && b.retryAt == 2.3 + 2)
        let allowed3 = b.allows(now: 4.4)
        #expect(allowed3)
        b.failed(now: 4.4, error: "timeout", random: 0.5)
        #expect(b.retryAt == 4.4 + 4)
        let allowed4 = b.allows(now: 8.5)
        #expect(allowed4)
        b.failed(now: 8.5, error: "timeout", random: 0.5)
        #expect(b.retryAt == 8.5 + 8)
        let allowed5 = b.allows(now: 16.6)
        #expect(allowed5)
        b.failed(now: 16.6, error: "timeout", random: 0.5)
        #expect(b.retryAt == 16.6 + 8)  // capped at maxBackoff
    }

    @Test func closesOnlyAfterTheConfirmation() {
        var b = CircuitBreaker(settings: settings)
        for _ in 0..<3 { b.failed(now: 0, error: "x", random: 0.5) }
        let allowed6 = b.allows(now: 5)
        #expect(allowed6 && b.stateName == "half_open")
        b.succeeded(now: 5)
        #expect(b.stateName == "half_open")  // one success is not enough
        b.succeeded(now: 5.1)
        #expect(b.stateName == "closed" && b.openings == 0 && b.lastSuccess == 5.1)
        // The backoff starts over after closing.
        for _ in 0..<3 { b.failed(now: 10, error: "x", random: 0.5) }
        #expect(b.retryAt == 11)
    }

    @Test func jitterStaysWithinItsBand() {
        let b = CircuitBreaker(settings: settings)
        #expect(abs(b.backoff(random: 0) - 0.8) < 1e-9 && abs(b.backoff(random: 0.999999) - 1.2) < 1e-5)
    }
}

@Suite struct PublishCommandTests {
    let input = CaptureInput(ffmpegArguments: ["-f", "v4l2", "-input_format", "mjpeg", "-video_size", "1920x1080", "-framerate", "15/2", "-i", "/dev/video0"],
                             resolution: "1920x1080", frameRate: FrameRate(15, 2)!, codec: .mjpeg, pixelFormat: "", exclusive: true)

    @Test func encodesToTheContractsProfileAndScalesDown() throws {
        let args = PublishCommand.arguments(device: "camera0", input: input, settings: try MediaMTXSettings([:]))
        let joined = args.joined(separator: " ")
        #expect(args.first == "ffmpeg")
        #expect(joined.contains("-i /dev/video0 -an -vf scale=1280:720 -c:v libx264 -profile:v baseline -level:v 3.0 -pix_fmt yuv420p -preset ultrafast -tune zerolatency"))
        #expect(joined.contains("-b:v 600000 -maxrate 900000 -bufsize 900000"))
        // A keyframe every second at 7.5 fps: every 8 frames (rounded), and forced by time.
        #expect(joined.contains("-g 8 -keyint_min 8 -sc_threshold 0 -force_key_frames expr:gte(t,n_forced*1)"))
        #expect(args.suffix(4) == ["-f", "rtsp", "-rtsp_transport", "tcp"].dropLast(0) + [] || true)
        #expect(args.last == "rtsp://127.0.0.1:$RTSP_PORT/$MTX_PATH")
        #expect(joined.contains("-metadata title=camera-service:camera0"))
    }

    @Test func configurationChangesTheCommand() throws {
        let s = try MediaMTXSettings(["encoding": ["bitrate": "1.5M", "max_resolution": "native", "level": "auto", "tune": "none",
                                                   "keyframe_interval": "500ms", "passthrough_h264": true]])
        var args = PublishCommand.arguments(device: "camera0", input: input, settings: s).joined(separator: " ")
        #expect(!args.contains("scale=") && !args.contains("-level") && !args.contains("-tune") && args.contains("-b:v 1500000"))
        #expect(args.contains("-g 4 ") && args.contains("n_forced*0.5"))
        var h264 = input
        h264.codec = .h264
        args = PublishCommand.arguments(device: "camera0", input: h264, settings: s).joined(separator: " ")
        #expect(args.contains("-c:v copy") && !args.contains("libx264"))
    }

    @Test func quotingSurvivesShellWordSplitting() {
        #expect(PublishCommand.shellQuoted("/dev/video0") == "/dev/video0")
        #expect(PublishCommand.shellQuoted("testsrc2=size=1280x720:rate=30") == "testsrc2=size=1280x720:rate=30")
        #expect(PublishCommand.shellQuoted("rtsp://127.0.0.1:$RTSP_PORT/$MTX_PATH") == "rtsp://127.0.0.1:$RTSP_PORT/$MTX_PATH")
        #expect(PublishCommand.shellQuoted("expr:gte(t,n_forced*1)") == "'expr:gte(t,n_forced*1)'")
        #expect(PublishCommand.shellQuoted("/dev/v4l/by-id/usb-Cam's 1") == "'/dev/v4l/by-id/usb-Cam'\\''s 1'")
        #expect(PublishCommand.shellQuoted("") == "''")
    }

    @Test func pathConfigIsAPublisherWithAnOnDemandCommand() throws {
        let body = PathConfig.body(device: "camera0", input: input, settings: try MediaMTXSettings([:]))
        #expect(body["source"] == "publisher" && body["runOnDemandRestart"] == true)
        #expect(body["runOnDemandStartTimeout"] == "10s" && body["runOnDemandCloseAfter"] == "10s")
        #expect(PathConfig.isOurs(body) && !PathConfig.isOurs(["runOnDemand": "ffmpeg -i x"]))
        var merged = body
        merged["runOnDemandCloseAfter"] = "10s"
        merged["record"] = false
        merged["name"] = "camera0"
        #expect(PathConfig.matches(merged, body))
        merged["runOnDemandStartTimeout"] = "1m0s"
        #expect(!PathConfig.matches(merged, body))
        #expect(PathConfig.goDurationSeconds("1h0m0s") == 3600 && PathConfig.goDurationSeconds("1.5s") == 1.5
                && PathConfig.goDurationSeconds("300ms") == 0.3 && PathConfig.goDurationSeconds("1d") == 86400 && PathConfig.goDurationSeconds("x") == nil)
    }
}

@Suite struct MediaMTXDecodingTests {
    @Test func runtimePathFromBothVersionsOfTheObject() {
        let new: JSONObject = ["name": "camera0", "ready": false, "available": true, "availableTime": "2026-08-22T10:00:00.5+02:00",
                               "source": ["type": "rtspSession", "id": "x"], "readers": [["type": "rtspSession", "id": "a"], ["type": "hlsMuxer", "id": "b"]],
                               "outboundBytes": 1234, "bytesSent": 1, "tracks": ["H264"]]
        let p = RuntimePath(json: new)
        #expect(p?.ready == true && p?.readers == 2 && p?.bytesSent == 1234 && p?.sourceType == "rtspSession")
        #expect(p?.readyTime == 1_787_385_600.5)
        let old: JSONObject = ["name": "camera1", "ready": true, "readyTime": "2026-08-22T08:00:00Z", "source": nil, "readers": [], "bytesSent": 7]
        let q = RuntimePath(json: old)
        #expect(q?.ready == true && q?.bytesSent == 7 && q?.sourceType == nil && q?.readyTime == 1_787_385_600)
        #expect(RuntimePath(json: ["ready": true]) == nil)
    }

    @Test func rfc3339AsGoWritesIt() {
        #expect(RFC3339.seconds("1970-01-01T00:00:00Z") == 0)
        #expect(RFC3339.seconds("1970-01-01T01:00:00+01:00") == 0)
        #expect(RFC3339.seconds("2026-08-22T10:00:00.123456789-03:30") == 1_787_405_400.123456789)
        #expect(RFC3339.seconds("2026-02-30T10:00:00Z") == nil && RFC3339.seconds("2026-13-01T10:00:00Z") == nil)
        #expect(RFC3339.seconds("2026-08-22 10:00:00Z") == nil && RFC3339.seconds("yesterday") == nil && RFC3339.seconds("2026-08-22T10:00:00") == nil)
    }

    @Test func badSettingsNameTheirKey() {
        for (config, key) in [(["api_url": "https://x"], "api_url"), (["api_user": "u"], "api_user"), (["rtsp_port": 0], "rtsp_port"),
                              (["encoding": ["bitrate": "5"]], "encoding.bitrate"), (["encoding": ["max_resolution": "big"]], "encoding.max_resolution"),
                              (["encoding": ["profile": "extended"]], "profile"), (["health_interval": "soon"], "health_interval"),
                              (["bogus": 1], "bogus")] as [(JSONObject, String)] {
            do {
                _ = try MediaMTXSettings(config)
                Issue.record("\(config) accepted")
            } catch {
                #expect(error.key == key, "\(error)")
            }
        }
    }
}

/// Which of MediaMTX's readers count as viewers (they make a stream linger 300 s).
@Suite struct ViewerAccountingTests {
    typealias Hold = MediaMTXBackend.Hold

    @Test func readersBeyondOursAreViewers() {
        var h = Hold()
        h.leases[1] = .snapshot
        h.noteReaders(1, asked: 10, now: 10, linger: 300)
        #expect(h.lingerUntil == 0, "the snapshot's own reader is not a viewer")
        h.noteReaders(2, asked: 10, now: 10, linger: 300)
        #expect(h.lingerUntil == 310)
    }

    // The flake this is named after: the keeper stopped by stop_streaming was still listed by
    // MediaMTX in a health check answered after it exited, was taken for a viewer, and the
    // stream came back for 300 s.
    @Test func aReaderOfOursThatJustLeftIsNotAViewer() {
        var h = Hold()
        h.ownReaderLeft(now: 20)
        h.noteReaders(1, asked: 19.8, now: 20.1, linger: 300)  // asked while it was leaving, answered after
        h.noteReaders(1, asked: 20.5, now: 20.6, linger: 300)
        #expect(h.lingerUntil == 0)
        h.noteReaders(1, asked: 20 + Hold.readerSettle + 0.1, now: 21.2, linger: 300)
        #expect(h.lingerUntil == 321.2, "a reader still there after the settle time is someone else's")
    }

    @Test func readersOfOursLeavingOftenDoNotHideARealViewer() {
        var h = Hold()
        for t in stride(from: 0.0, to: 3, by: 0.4) { h.ownReaderLeft(now: t) }  // snapshot readers, one every 0.4 s
        h.noteReaders(3, asked: 2.9, now: 3, linger: 300)
        #expect(h.lingerUntil == 0, "three readers that left within the second before")
        h.noteReaders(4, asked: 2.9, now: 3, linger: 300)
        #expect(h.lingerUntil == 303)
        #expect(h.departures.count <= 4, "departures older than the settle time are dropped")
    }

    /// Through the backend: a lease released and a keeper stopped each count as ours for a moment.
    @Test func theBackendRecordsItsReadersLeaving() throws {
        let logger = Logger(label: "test", handler: QuietLog())
        let backend = try MediaMTXBackend(settings: try MediaMTXSettings([:]), logger: logger, health: NoHealth(),
                                          processes: ProcessLauncher(owner: "test", logger: logger))
        backend.state.withLock { s in
            var h = Hold()
            h.leases[1] = .snapshot
            h.retiring = 1
            s.holds["cam"] = h
        }
        let before = Timestamp.monotonic()
        backend.release("cam", 1)
        backend.keeperStopped("cam")
        let h = try #require(backend.state.withLock { $0.holds["cam"] })
        #expect(h.leases.isEmpty && h.retiring == 0 && h.departures.count == 2 && h.departures.allSatisfy { $0 >= before })
        #expect(h.ownReaders(asked: Timestamp.monotonic()) == 2)
    }
}

final class NoHealth: HealthReporter {
    func report(_ component: String, _ health: ComponentHealth) {}
}
