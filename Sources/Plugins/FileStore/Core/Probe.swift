import PluginAPI
import Synchronization

/// What `ffprobe` tells of a media file: its duration and the size of its first video stream.
public struct ProbeResult: Sendable, Equatable {
    public var duration: Double?
    public var resolution: String?
    public init(duration: Double?, resolution: String?) {
        self.duration = duration
        self.resolution = resolution
    }

    /// From `ffprobe -print_format json -show_entries format=duration:stream=codec_type,width,height`.
    public static func parse(_ output: [UInt8]) -> ProbeResult? {
        guard let doc = try? JSONValue.parse(output).objectValue else { return nil }
        var r = ProbeResult(duration: nil, resolution: nil)
        if let d = doc["format"]?.objectValue?["duration"], let seconds = d.stringValue.flatMap(Double.init) ?? d.doubleValue,
           seconds.isFinite, seconds >= 0 {
            r.duration = seconds
        }
        for s in doc["streams"]?.arrayValue ?? [] {
            guard let o = s.objectValue, o["codec_type"]?.stringValue == "video", let w = o["width"]?.intValue, let h = o["height"]?.intValue,
                  w > 0, h > 0 else { continue }
            r.resolution = "\(w)x\(h)"
            break
        }
        return r
    }
}

/// Runs `ffprobe` on one file at a time as a supervised child (with a time limit), off the
/// request path: the store queues files when they are catalogued.
public struct Prober: Sendable {
    public let launcher: ProcessLauncher
    public let executable: String
    public let timeout: Double
    public let logger: Logger

    public init(launcher: ProcessLauncher, executable: String, timeout: Double, logger: Logger) {
        self.launcher = launcher
        self.executable = executable
        self.timeout = timeout
        self.logger = logger
    }

    /// Nil when ffprobe failed or said nothing usable.
    public func probe(_ path: String) async -> ProbeResult? {
        let output = Mutex<[UInt8]>([])
        // `file:` so a name starting with '-' or holding ':' is never read as an option or a protocol.
        var spec = ProcessSpec(executable: executable, arguments: ["-v", "error", "-print_format", "json", "-show_entries",
                                                                   "format=duration:stream=codec_type,width,height", "file:" + path],
                               label: "ffprobe")
        spec.timeLimit = timeout
        spec.stopMethod = .interrupt
        spec.stopTimeout = 1
        spec.stderrLevel = .debug
        spec.stdout = .bytes { chunk in output.withLock { if $0.count < 1 << 18 { $0 += chunk } } }
        do {
            let child = try await launcher.spawn(spec)
            let exit = await child.wait()
            guard exit.succeeded else {
                logger.debug("ffprobe \(path): \(exit)")
                return nil
            }
        } catch {
            logger.warning("ffprobe cannot run: \(error)")
            return nil
        }
        return ProbeResult.parse(output.withLock { $0 })
    }
}
