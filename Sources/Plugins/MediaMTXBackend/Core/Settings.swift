import PluginAPI

/// How the publisher encodes a camera for MediaMTX (the contract's defaults: H.264
/// constrained baseline, level 3.0, yuv420p, about 600 kbit/s, a keyframe every second, at
/// most 1280x720).
public struct EncodingSettings: Sendable, Equatable {
    public var profile = "baseline"
    public var level = "3.0"
    public var pixelFormat = "yuv420p"
    public var preset = "ultrafast"
    public var tune = "zerolatency"
    /// Average bitrate, bits per second.
    public var bitrate = 600_000
    /// Peak bitrate the rate control may reach, bits per second.
    public var maxBitrate = 900_000
    /// Seconds between keyframes (readers and snapshots never wait longer for one).
    public var keyframeInterval = 1.0
    /// Larger cameras are scaled down to fit; nil keeps the native size.
    public var maxWidth: Int? = 1280
    public var maxHeight: Int? = 720
    /// Publish H.264 cameras as they come, without re-encoding.
    public var passthroughH264 = false
    public init() {}
}

/// The backend's configuration (the plugin's `config:`; every key in docs/configuration.md).
public struct MediaMTXSettings: Sendable, Equatable {
    public var apiURL = "http://127.0.0.1:9997"
    public var apiUser: String?
    public var apiPassword: String?
    /// Host name in stream URLs; nil: the host the client used, else this machine's name.
    public var publicHost: String?
    public var rtspPort = 8554
    public var webrtcPort = 8889
    public var hlsPort = 8888
    /// Where readers inside the daemon reach MediaMTX's RTSP server.
    public var readHost = "127.0.0.1"
    public var healthInterval = 5.0
    public var requestTimeout = 2.0
    /// How long `start_streaming` waits for the stream to be ready.
    public var startTimeout = 10.0
    /// A viewed stream stays published this long after its last reader.
    public var viewerIdle = 300.0
    /// A stream started for snapshots stays this long after the last one.
    public var snapshotIdle = 60.0
    /// MediaMTX's `runOnDemandCloseAfter`: the publisher stops this long after MediaMTX's last reader.
    public var closeAfter = 10.0
    /// The FFmpeg MediaMTX runs as publisher (found in MediaMTX's PATH), and the daemon's own.
    public var ffmpeg = "ffmpeg"
    public var encoding = EncodingSettings()
    public var breaker = CircuitBreaker.Settings()
    public init() {}

    static let keys = ["api_url", "api_user", "api_password", "public_host", "rtsp_port", "webrtc_port", "hls_port", "read_host",
                       "health_interval", "request_timeout", "start_timeout", "viewer_idle_timeout", "snapshot_idle_timeout",
                       "close_after", "ffmpeg", "encoding", "failure_threshold", "confirmations", "max_backoff"]
    static let encodingKeys = ["profile", "level", "pixel_format", "preset", "tune", "bitrate", "max_bitrate", "keyframe_interval",
                               "max_resolution", "passthrough_h264"]

    /// Reads a `config:` mapping; a bad key names itself.
    public init(_ c: JSONObject) throws(PluginConfigError) {
        try c.rejectUnknownKeys(allowed: MediaMTXSettings.keys)
        apiURL = try c.configString("api_url", default: apiURL)
        guard apiURL.hasPrefix("http://") else { throw PluginConfigError(key: "api_url", problem: "expected http://host:port, got '\(apiURL)'") }
        apiUser = try c.configOptionalString("api_user")
        apiPassword = try c.configOptionalString("api_password")
        if (apiUser == nil) != (apiPassword == nil) { throw PluginConfigError(key: "api_user", problem: "api_user and api_password go together") }
        publicHost = try c.configOptionalString("public_host").flatMap { $0.isEmpty ? nil : $0 }
        rtspPort = try c.configInt("rtsp_port", default: rtspPort, range: 1...65535)
        webrtcPort = try c.configInt("webrtc_port", default: webrtcPort, range: 1...65535)
        hlsPort = try c.configInt("hls_port", default: hlsPort, range: 1...65535)
        readHost = try c.configString("read_host", default: readHost)
        healthInterval = try c.configSeconds("health_interval", default: healthInterval, range: 0.1...3600)
        requestTimeout = try c.configSeconds("request_timeout", default: requestTimeout, range: 0.05...120)
        startTimeout = try c.configSeconds("start_timeout", default: startTimeout, range: 0.5...600)
        viewerIdle = try c.configSeconds("viewer_idle_timeout", default: viewerIdle, range: 0...86400)
        snapshotIdle = try c.configSeconds("snapshot_idle_timeout", default: snapshotIdle, range: 0...86400)
        closeAfter = try c.configSeconds("close_after", default: closeAfter, range: 1...3600)
        ffmpeg = try c.configString("ffmpeg", default: ffmpeg)
        breaker.failureThreshold = try c.configInt("failure_threshold", default: breaker.failureThreshold, range: 1...100)
        breaker.confirmations = try c.configInt("confirmations", default: breaker.confirmations, range: 1...100)
        breaker.maxBackoff = try c.configSeconds("max_backoff", default: breaker.maxBackoff, range: 1...3600)
        guard let e = (c["encoding"] ?? .object([:])).objectValue else { throw PluginConfigError(key: "encoding", problem: "expected a mapping") }
        try e.rejectUnknownKeys(allowed: MediaMTXSettings.encodingKeys)
        encoding.profile = try e.configChoice("profile", default: encoding.profile, from: ["baseline", "main", "high"])
        encoding.level = try e.configString("level", default: encoding.level)
        guard encoding.level == "auto" || Double(encoding.level) != nil else {
            throw PluginConfigError(key: "encoding.level", problem: "expected auto or a level such as 3.0, got '\(encoding.level)'")
        }
        encoding.pixelFormat = try e.configChoice("pixel_format", default: encoding.pixelFormat, from: ["yuv420p", "nv12"])
        encoding.preset = try e.configChoice("preset", default: encoding.preset,
                                             from: ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium"])
        encoding.tune = try e.configChoice("tune", default: encoding.tune, from: ["zerolatency", "film", "animation", "stillimage", "none"])
        encoding.bitrate = try MediaMTXSettings.bits(e, "bitrate", default: encoding.bitrate)
        encoding.maxBitrate = try MediaMTXSettings.bits(e, "max_bitrate", default: max(encoding.maxBitrate, encoding.bitrate * 3 / 2))
        guard encoding.maxBitrate >= encoding.bitrate else { throw PluginConfigError(key: "encoding.max_bitrate", problem: "must not be below encoding.bitrate") }
        encoding.keyframeInterval = try e.configSeconds("keyframe_interval", default: encoding.keyframeInterval, range: 0.1...10)
        if let r = try e.configOptionalString("max_resolution") {
            if r == "native" {
                encoding.maxWidth = nil
                encoding.maxHeight = nil
            } else {
                let d = r.split(separator: "x").compactMap { Int($0) }
                guard d.count == 2, (16...7680).contains(d[0]), (16...4320).contains(d[1]) else {
                    throw PluginConfigError(key: "encoding.max_resolution", problem: "expected WIDTHxHEIGHT or native, got '\(r)'")
                }
                encoding.maxWidth = d[0]
                encoding.maxHeight = d[1]
            }
        }
        encoding.passthroughH264 = try e.configBool("passthrough_h264", default: false)
    }

    /// `600k`, `2M` or a number of bits per second, within the contract's 64 kbit/s – 2 Mbit/s… 20 Mbit/s for peaks.
    static func bits(_ e: JSONObject, _ key: String, default d: Int) throws(PluginConfigError) -> Int {
        guard let v = e[key], !v.isNull else { return d }
        var n: Double?
        if let i = v.doubleValue { n = i } else if let s = v.stringValue?.lowercased() {
            if s.hasSuffix("k") { n = Double(s.dropLast()).map { $0 * 1000 } } else if s.hasSuffix("m") { n = Double(s.dropLast()).map { $0 * 1_000_000 } } else { n = Double(s) }
        }
        guard let n, n >= 64_000, n <= 20_000_000 else {
            throw PluginConfigError(key: "encoding.\(key)", problem: "expected a bitrate such as 600k or 2M (64k to 20M), got \(v)")
        }
        return Int(n)
    }
}
