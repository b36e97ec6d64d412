import Glibc
import PluginAPI
import Testing
import V4L2SourceCore

/// The camera state transitions of one V4L2 node (V4L2Node), without threads or devices:
/// probe results, retries, timeouts, unplugs and stale answers.
@Suite struct V4L2NodeTests {
    let camera = DeviceProbe(driver: "uvcvideo", card: "HD USB Camera", busInfo: "usb-1", deviceCaps: 0x0400_0001, formats: [
        .init(fourcc: "MJPG", description: "Motion-JPEG", compressed: true, sizes: [.init(width: 1280, height: 720, rates: [FrameRate(fps: 30)])]),
    ], current: (fourcc: "MJPG", width: 1280, height: 720))

    func failure(_ errno: Int32, _ message: String = "open failed") -> Result<DeviceProbe, ProbeError> {
        .failure(ProbeError(message: message, errno: errno))
    }

    /// A node with one probe started and finished with `result`.
    func probed(_ node: inout V4L2Node, _ result: Result<DeviceProbe, ProbeError>, deadline: Double = 10) -> V4L2Node.Outcome {
        let g = node.probeStarted(deadline: deadline)
        return node.probeFinished(generation: g, result)
    }

    @Test func firstGoodProbeConnectsOnceAndAChangeIsAStatusChange() {
        var node = V4L2Node(index: 3)
        let first = probed(&node, .success(camera))
        let expected = CameraInfo(device: "camera3", status: .connected, name: "HD USB Camera", resolution: "1280x720",
                                  frameRate: FrameRate(fps: 30), driver: "uvcvideo", busInfo: "usb-1", stableID: "bus:usb-1")
        #expect(first == .report(expected, [.connected]))
        #expect(node.info == expected && node.probe == camera && !node.probing)
        #expect(probed(&node, .success(camera)) == .none)  // the same answer again: nothing to say
        var renamed = camera
        renamed.card = "Renamed"
        guard case .report(let info, [.statusChanged]) = probed(&node, .success(renamed)) else {
            Issue.record("a changed camera is a status change")
            return
        }
        #expect(info.name == "Renamed" && info.status == .connected)
    }

    @Test func stableIDComesFromTheNodesSysname() {
        var node = V4L2Node(index: 2)
        let g = node.probeStarted(deadline: 1)
        let outcome = node.probeFinished(generation: g, .success(camera)) { sysname in sysname == "video2" ? "id_serial:SN42" : nil }
        guard case .report(let info, _) = outcome else { Issue.record("expected a report"); return }
        #expect(info.stableID == "id_serial:SN42")
    }

    @Test func metadataNodeIsNeverListed() {
        var node = V4L2Node(index: 1)
        var meta = camera
        meta.deviceCaps = 0x0480_0000
        #expect(probed(&node, .success(meta)) == .none)
        #expect(node.info == nil && node.probe == nil)
    }

    @Test(arguments: [EBUSY, EACCES, EPERM])
    func busyOrForbiddenIsRetriedFiveTimesThenError(errno: Int32) {
        var node = V4L2Node(index: 0)
        for attempt in 1...V4L2Node.maxRetries {
            #expect(probed(&node, failure(errno)) == .retry, "attempt \(attempt)")
            #expect(node.info == nil && node.retries == attempt)
        }
        guard case .report(let info, [.statusChanged]) = probed(&node, failure(errno, "busy")) else {
            Issue.record("the sixth failure is an ERROR")
            return
        }
        #expect(info.status == .error && info.errorMessage == "busy" && info.device == "camera0" && info.name == "video0")
        #expect(probed(&node, failure(errno)) == .none)  // ERROR once, not again
    }

    @Test func aDeviceThatFreesUpDuringItsRetriesConnectsAndTheCountStartsOver() {
        var node = V4L2Node(index: 0)
        #expect(probed(&node, failure(EBUSY)) == .retry)
        #expect(probed(&node, failure(EBUSY)) == .retry)
        guard case .report(let info, [.connected]) = probed(&node, .success(camera)) else { Issue.record("expected connected"); return }
        #expect(info.status == .connected && node.retries == 0)
    }

    @Test func aFixedErrorBecomesConnected() {
        var node = V4L2Node(index: 0)
        for _ in 0...V4L2Node.maxRetries { _ = probed(&node, failure(EACCES)) }
        #expect(node.info?.status == .error)
        // CONNECTED, and the capabilities a client could not read while it was ERROR are there now.
        guard case .report(let info, [.statusChanged, .capabilitiesDetected]) = probed(&node, .success(camera)) else {
            Issue.record("expected a status change and detected capabilities")
            return
        }
        #expect(info.status == .connected && info.errorMessage.isEmpty)
    }

    @Test func changedCapabilitiesAreDetectedOnTheirOwn() throws {
        var node = V4L2Node(index: 0)
        _ = probed(&node, .success(camera))
        let listed = try #require(node.info)
        var more = camera
        more.formats.append(.init(fourcc: "YUYV", description: "YUYV 4:2:2", compressed: false, sizes: [.init(width: 640, height: 480, rates: [FrameRate(fps: 30)])]))
        // Same listing (name, default mode), other formats: only the capabilities changed.
        #expect(probed(&node, .success(more)) == .report(listed, [.capabilitiesDetected]))
        #expect(probed(&node, .success(more)) == .none)
        // Unplugged and back with other formats: a connect, which carries them.
        _ = node.vanished()
        guard case .report(_, [.connected]) = probed(&node, .success(camera)) else { Issue.record("expected connected only"); return }
    }

    @Test func otherErrorsAreErrorAtOnce() {
        var node = V4L2Node(index: 0)
        guard case .report(let info, [.statusChanged]) = probed(&node, failure(EIO, "VIDIOC_QUERYCAP: I/O error")) else {
            Issue.record("EIO is not retried")
            return
        }
        #expect(info.status == .error && info.errorMessage == "VIDIOC_QUERYCAP: I/O error")
    }

    @Test(arguments: [ENOENT, ENODEV])
    func goneBeforeTheProbeChangesNothing(errno: Int32) {
        var node = V4L2Node(index: 0)
        _ = probed(&node, .success(camera))
        #expect(probed(&node, failure(errno)) == .none)
        #expect(node.probe == nil && node.info?.status == .connected)  // vanished() reports the unplug
    }

    @Test func aStaleResultIsIgnored() {
        var node = V4L2Node(index: 0)
        let old = node.probeStarted(deadline: 1)
        let current = node.probeStarted(deadline: 2)
        #expect(node.probeFinished(generation: old, .success(camera)) == .none)
        #expect(node.info == nil && node.probing)
        guard case .report = node.probeFinished(generation: current, .success(camera)) else { Issue.record("the current probe counts"); return }
    }

    @Test func aWedgedProbeIsErrorOnceAndALateAnswerRecovers() {
        var node = V4L2Node(index: 5)
        let g = node.probeStarted(deadline: 10)
        #expect(node.probeTimedOut(now: 9.9, timeout: 0.5) == nil)
        let error = node.probeTimedOut(now: 10, timeout: 0.5)
        #expect(error?.status == .error && error?.errorMessage == "device did not answer within 0.5 s" && error?.device == "camera5")
        #expect(node.probing)  // its thread is still blocked in the kernel
        #expect(node.probeTimedOut(now: 20, timeout: 0.5) == nil)  // reported once
        guard case .report(let info, [.statusChanged, .capabilitiesDetected]) = node.probeFinished(generation: g, .success(camera)) else {
            Issue.record("the device answered after all: CONNECTED again")
            return
        }
        #expect(info.status == .connected && !node.probing && node.probeTimedOut(now: 30, timeout: 0.5) == nil)
    }

    @Test func unplugDisconnectsOnceAndMakesARunningProbeStale() {
        var node = V4L2Node(index: 4)
        _ = probed(&node, .success(camera))
        let running = node.probeStarted(deadline: 100)
        let gone = node.vanished()
        #expect(gone?.status == .disconnected && gone?.name == "HD USB Camera" && gone?.device == "camera4")
        #expect(!node.probing && node.probe == nil && node.info?.status == .disconnected)
        #expect(node.vanished() == nil)  // already disconnected
        #expect(node.probeFinished(generation: running, .success(camera)) == .none)  // answered for a node that left
        #expect(node.info?.status == .disconnected)
        // Plugged in again: connected (not a status change).
        guard case .report(let back, [.connected]) = probed(&node, .success(camera)) else { Issue.record("expected connected"); return }
        #expect(back.status == .connected)
    }

    @Test func unplugOfAnUnlistedNodeReportsNothingButResetsRetries() {
        var node = V4L2Node(index: 0)
        #expect(probed(&node, failure(EBUSY)) == .retry)
        #expect(node.vanished() == nil && node.retries == 0 && node.info == nil)
    }
}
