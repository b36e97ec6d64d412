import PluginAPI
import Testing
import V4L2SourceCore

@Suite struct V4L2ProbeTests {
    let probe = DeviceProbe(driver: "uvcvideo", card: "Cam", busInfo: "usb-1", deviceCaps: 0x0400_0001, formats: [
        .init(fourcc: "YUYV", description: "YUYV 4:2:2", compressed: false, sizes: [
            .init(width: 640, height: 480, rates: [FrameRate(fps: 30), FrameRate(fps: 15)]), .init(width: 1280, height: 720, rates: [FrameRate(fps: 10)]),
        ]),
        .init(fourcc: "MJPG", description: "Motion-JPEG", compressed: true, sizes: [
            .init(width: 640, height: 480, rates: [FrameRate(fps: 30)]), .init(width: 1920, height: 1080, rates: [FrameRate(fps: 30), FrameRate(15, 2)!]),
        ]),
    ], current: (fourcc: "YUYV", width: 640, height: 480))

    @Test func capabilitiesMergeFormatsSizesAndRates() {
        let c = probe.capabilities
        #expect(c.formats == ["YUYV", "MJPG"])
        #expect(c.resolutions == ["1920x1080", "1280x720", "640x480"])
        #expect(c.frameRates.map(\.roundedFPS) == [30, 15, 10, 8])
        #expect(c.frameRates.map(\.description) == ["30", "15", "10", "7.5"])
        #expect(c.frameRates.last == FrameRate(15, 2) && c.frameRates.last?.ffmpegRational == "15/2")  // exact, not 7.5 rounded
        #expect(c.capabilities == ["video_capture", "streaming"])
    }

    @Test func defaultModePrefersCompressedAtTheCurrentSize() {
        let m = probe.defaultMode
        #expect(m?.fourcc == "MJPG" && m?.width == 640 && m?.height == 480 && m?.rate == FrameRate(fps: 30))
        let input = probe.captureInput(path: "/dev/video0")
        #expect(input?.ffmpegArguments == ["-f", "v4l2", "-input_format", "mjpeg", "-video_size", "640x480", "-framerate", "30", "-i", "/dev/video0"])
    }

    @Test func metadataNodesAreNotCameras() {
        var meta = probe
        meta.deviceCaps = 0x0480_0000
        #expect(!meta.isVideoCapture && probe.isVideoCapture)
    }

    @Test func nodeNames() {
        #expect(NodeNames.index("video12") == 12 && NodeNames.index("video") == nil && NodeNames.index("video1a") == nil)
        #expect(NodeNames.index("videox") == nil && NodeNames.index("media0") == nil && NodeNames.index("video-1") == nil)
        #expect(NodeNames.index(ofCamera: "camera3") == 3 && NodeNames.index(ofCamera: "test_cam0") == nil)
        #expect(V4L2Device.fourccText(0x5659_5559) == "YUYV")
    }
}
