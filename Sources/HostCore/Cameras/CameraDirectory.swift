import PluginAPI
import Synchronization

/// The merged camera list of every camera source, kept current by their change reports, so
/// that reading it is a lock and a copy (no task hop per `get_camera_list`).
package final class CameraDirectory: Sendable {
    struct Entry: Sendable {
        var info: CameraInfo
        var sourceIndex: Int
    }
    private let cameras = Mutex<[String: Entry]>([:])
    private let sourceList = Mutex<[(plugin: String, source: any CameraSource)]>([])
    /// Told of every change after the events are out (the media coordinator).
    private let listener = Mutex<(@Sendable (CameraInfo, CameraChange) -> Void)?>(nil)
    private let events: EventBus
    private let logger: Logger
    /// The stream URLs events carry (no client host name: the configured public host or the machine's name).
    private let streamURLs: @Sendable (String) -> StreamURLs?

    init(events: EventBus, logger: Logger, streamURLs: @escaping @Sendable (String) -> StreamURLs?) {
        self.events = events
        self.logger = logger
        self.streamURLs = streamURLs
    }

    var sources: [(plugin: String, source: any CameraSource)] { sourceList.withLock { $0 } }

    func onChange(_ body: @escaping @Sendable (CameraInfo, CameraChange) -> Void) { listener.withLock { $0 = body } }

    /// Starts every source and seeds the list; a source that fails to start is logged and skipped.
    func start(_ sources: [(plugin: String, source: any CameraSource)]) async {
        sourceList.withLock { $0 = sources }
        for (i, s) in sources.enumerated() {
            let sink = SourceSink(directory: self, sourceIndex: i)
            do {
                try await s.source.start(sink)
            } catch {
                logger.error("camera source \(s.source.sourceName) (plugin \(s.plugin)) failed to start: \(error)")
                continue
            }
            for cam in await s.source.cameras() { apply(cam, change: .connected, sourceIndex: i, announce: false) }
        }
    }

    /// Cameras sorted by id (`camera0`, `camera1`, …, then named ones).
    package func list() -> [CameraInfo] {
        cameras.withLock { Array($0.values.map(\.info)) }.sorted { CameraDirectory.order($0.device, $1.device) }
    }

    package func camera(_ device: String) -> CameraInfo? { cameras.withLock { $0[device]?.info } }

    /// The source that owns `device`.
    package func source(of device: String) -> (any CameraSource)? {
        guard let i = cameras.withLock({ $0[device]?.sourceIndex }) else { return nil }
        let all = sources
        return i < all.count ? all[i].source : nil
    }

    /// Whether any source watches for cameras coming and going now.
    var isDiscovering: Bool { sources.contains { $0.source.isDiscovering } }

    /// The most cameras the sources can list, nil when one of them has no bound.
    var maxCameras: Int? {
        var total = 0
        for s in sources {
            guard let n = s.source.maxCameras else { return nil }
            total += n
        }
        return total
    }

    func apply(_ cam: CameraInfo, change: CameraChange, sourceIndex: Int, announce: Bool = true) {
        let previous: CameraInfo? = cameras.withLock { table in
            // A camera that went away stays listed as DISCONNECTED: clients see what happened,
            // and a re-plugged camera with the same id simply becomes CONNECTED again.
            let old = table[cam.device]?.info
            table[cam.device] = Entry(info: cam, sourceIndex: sourceIndex)
            return old
        }
        if announce {
            let topic: String
            switch change {
            case .connected: topic = EventTopic.cameraConnected
            case .disconnected: topic = EventTopic.cameraDisconnected
            case .statusChanged: topic = EventTopic.cameraStatusChange
            case .capabilitiesDetected: topic = EventTopic.cameraCapabilityDetected
            @unknown default: topic = EventTopic.cameraStatusChange
            }
            let json = CameraJSON.camera(cam, urls: streamURLs(cam.device))
            var params = json
            if let previous, previous.status != cam.status { params["previous_status"] = .string(previous.status.rawValue) }
            events.publish(Event(topic: topic, params: params))
            if change != .capabilitiesDetected { events.broadcastLegacy(method: "camera_status_update", params: json) }
        }
        listener.withLock { $0 }?(cam, change)
    }

    /// `camera2` before `camera10`; numbered cameras before named ones.
    static func order(_ a: String, _ b: String) -> Bool {
        func num(_ s: String) -> Int? { s.hasPrefix("camera") ? Int(s.dropFirst(6)) : nil }
        switch (num(a), num(b)) {
        case let (x?, y?): return x < y
        case (_?, nil): return true
        case (nil, _?): return false
        default: return a < b
        }
    }
}

/// The ``CameraEventSink`` handed to one source.
final class SourceSink: CameraEventSink {
    let directory: CameraDirectory
    let sourceIndex: Int
    init(directory: CameraDirectory, sourceIndex: Int) {
        self.directory = directory
        self.sourceIndex = sourceIndex
    }
    func cameraChanged(_ camera: CameraInfo, change: CameraChange) {
        directory.apply(camera, change: change, sourceIndex: sourceIndex)
    }
}

/// The contract's JSON shapes for cameras.
enum CameraJSON {
    static func camera(_ c: CameraInfo, urls: StreamURLs?) -> JSONObject {
        var streams = JSONObject()
        if let urls {
            streams["rtsp"] = .string(urls.rtsp)
            streams["webrtc"] = .string(urls.webrtc)
            streams["hls"] = .string(urls.hls)
        }
        return ["device": .string(c.device), "status": .string(c.status.rawValue), "name": .string(c.name),
                "resolution": .string(c.resolution), "fps": fps(c.frameRate), "streams": .object(streams)]
    }

    /// A frame rate as the contract's number: an integer when whole (30), else exact (7.5).
    static func fps(_ rate: FrameRate?) -> JSONValue {
        guard let rate else { return .null }
        return rate.isWhole ? .int(rate.numerator) : .double((rate.value * 1000).rounded() / 1000)
    }

    static func capabilities(_ device: String, _ c: CameraCapabilities) -> JSONObject {
        var wholeRates: [Int] = []
        for r in c.frameRates where !wholeRates.contains(r.roundedFPS) { wholeRates.append(r.roundedFPS) }
        return ["device": .string(device), "formats": .array(c.formats.map(JSONValue.string)),
                "resolutions": .array(c.resolutions.map(JSONValue.string)), "fps_options": .array(wholeRates.map(JSONValue.int)),
                "frame_rates": .array(c.frameRates.map { .string($0.description) }), "capabilities": .array(c.capabilities.map(JSONValue.string)),
                "validation_status": .string(c.validationStatus.rawValue)]
    }
}
