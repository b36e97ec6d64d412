import Glibc
import PluginAPI

/// One `video<N>` node as discovery sees it, and every change of its state: a probe started,
/// its result, a probe past its deadline, the node vanishing. A value without I/O or threads:
/// ``V4L2CameraSource`` keeps one per node under its lock, runs the probes and reports what the
/// transitions return.
public struct V4L2Node: Sendable {
    /// What a finished probe means.
    public enum Outcome: Sendable, Equatable {
        /// Nothing to report (a stale result, an unchanged camera, not a camera, gone again).
        case none
        /// The camera's listing changed: tell the host, each change in order.
        case report(CameraInfo, [CameraChange])
        /// Probe again shortly (permissions being fixed, a device settling).
        case retry
    }

    /// Probes retried on EACCES, EPERM or EBUSY before the camera is ERROR.
    public static let maxRetries = 5

    public let index: Int
    /// Bumped on every (re)probe; a late result for an older one is ignored.
    public private(set) var generation = 0
    public private(set) var probing = false
    public private(set) var probeDeadline = 0.0
    public private(set) var probe: DeviceProbe?
    /// Listed as a camera (a capture node that probed at least once, or errored).
    public private(set) var info: CameraInfo?
    public private(set) var retries = 0

    public init(index: Int) { self.index = index }

    /// A probe starts now and must finish by `deadline`; returns its generation.
    public mutating func probeStarted(deadline: Double) -> Int {
        generation += 1
        probing = true
        probeDeadline = deadline
        return generation
    }

    /// A probe finished. `stableID` names a capture node for good (udev's serial or path),
    /// nil when unknown; it is asked only for a camera that probed successfully.
    public mutating func probeFinished(generation: Int, _ result: Result<DeviceProbe, ProbeError>,
                                       stableID: (String) -> String? = { _ in nil }) -> Outcome {
        guard generation == self.generation else { return .none }
        probing = false
        switch result {
        case .success(let probe):
            retries = 0
            guard probe.isVideoCapture else {
                self.probe = nil  // a metadata node of a UVC camera: not a camera
                return .none
            }
            let previous = info, previousProbe = self.probe
            self.probe = probe
            let mode = probe.defaultMode
            let listed = CameraInfo(device: NodeNames.cameraID(index), status: .connected, name: probe.card,
                                    resolution: mode.map { "\($0.width)x\($0.height)" } ?? "", frameRate: mode?.rate,
                                    driver: probe.driver, busInfo: probe.busInfo,
                                    stableID: stableID("video\(index)") ?? "bus:\(probe.busInfo)")
            info = listed
            var changes: [CameraChange] = []
            if previous != listed { changes.append(previous == nil || previous?.status == .disconnected ? .connected : .statusChanged) }
            // A listed camera whose capabilities a client could not read (it was ERROR) or that
            // now differ: `camera.capability_detected`. A connect carries them already.
            if let previous, previous.status != .disconnected, previous.status != .connected || previousProbe?.formats != probe.formats {
                changes.append(.capabilitiesDetected)
            }
            return changes.isEmpty ? .none : .report(listed, changes)
        case .failure(let error):
            if error.errno == ENOENT || error.errno == ENODEV {
                probe = nil
                return .none  // gone again before we could look; vanished() reports a listed one
            }
            if (error.errno == EACCES || error.errno == EPERM || error.errno == EBUSY) && retries < V4L2Node.maxRetries {
                retries += 1  // udev may still be fixing permissions; the device may be settling
                return .retry
            }
            let previous = info
            let failed = marked(.error, error.message)
            info = failed
            return previous?.status == .error ? .none : .report(failed, [.statusChanged])
        }
    }

    /// The probe is past its deadline at `now`: the device is wedged. Returns the ERROR listing
    /// to report, once; the probe stays running (its thread blocked in the kernel), and a late
    /// answer still counts.
    public mutating func probeTimedOut(now: Double, timeout: Double) -> CameraInfo? {
        guard probing, now >= probeDeadline, info?.status != .error else { return nil }
        info = marked(.error, "device did not answer within \(timeout) s")
        return info
    }

    /// The node went away: a probe still running is now stale. Returns the DISCONNECTED listing
    /// to report when the camera was listed and not already disconnected.
    public mutating func vanished() -> CameraInfo? {
        generation += 1
        probing = false
        probe = nil
        retries = 0
        guard let listed = info, listed.status != .disconnected else { return nil }
        info = marked(.disconnected, "")
        return info
    }

    /// The node's listing with a new status (a node never probed gets a minimal one).
    func marked(_ status: CameraStatus, _ message: String) -> CameraInfo {
        var listed = info ?? CameraInfo(device: NodeNames.cameraID(index), status: status, name: "video\(index)", resolution: "", frameRate: nil)
        listed.status = status
        listed.errorMessage = message
        return listed
    }
}
