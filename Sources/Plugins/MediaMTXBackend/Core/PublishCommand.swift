import PluginAPI

/// The FFmpeg command MediaMTX runs (`runOnDemand`) to publish a camera: read its input once,
/// encode as the settings say, publish to `rtsp://127.0.0.1:$RTSP_PORT/$MTX_PATH`. MediaMTX
/// splits the string with POSIX shell quoting (no shell runs) and expands `$VAR` itself.
public enum PublishCommand {
    /// A tag in every command we configure: paths whose command lacks it are not ours.
    public static let marker = "camera-service"

    public static func arguments(device: String, input: CaptureInput, settings: MediaMTXSettings) -> [String] {
        let e = settings.encoding
        var args = [settings.ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin"] + input.ffmpegArguments + ["-an"]
        if e.passthroughH264 && input.codec == .h264 {
            args += ["-c:v", "copy"]
        } else {
            let fps = max(input.frameRate.value, 1)
            let gop = max(1, Int((fps * e.keyframeInterval).rounded()))
            if let scale = scaleFilter(input, e) { args += ["-vf", scale] }
            args += ["-c:v", "libx264", "-profile:v", e.profile]
            if e.level != "auto" { args += ["-level:v", e.level] }
            args += ["-pix_fmt", e.pixelFormat, "-preset", e.preset]
            if e.tune != "none" { args += ["-tune", e.tune] }
            args += ["-b:v", String(e.bitrate), "-maxrate", String(e.maxBitrate), "-bufsize", String(e.maxBitrate),
                     "-g", String(gop), "-keyint_min", String(gop), "-sc_threshold", "0",
                     "-force_key_frames", "expr:gte(t,n_forced*\(shortNumber(e.keyframeInterval)))"]
        }
        args += ["-metadata", "title=\(marker):\(device)", "-f", "rtsp", "-rtsp_transport", "tcp", "rtsp://127.0.0.1:$RTSP_PORT/$MTX_PATH"]
        return args
    }

    /// The command string as MediaMTX's `runOnDemand` takes it.
    public static func command(device: String, input: CaptureInput, settings: MediaMTXSettings) -> String {
        arguments(device: device, input: input, settings: settings).map(shellQuoted).joined(separator: " ")
    }

    /// `scale=W:H` to fit the cap (even sizes, aspect kept), nil when the input fits or its size is unknown.
    static func scaleFilter(_ input: CaptureInput, _ e: EncodingSettings) -> String? {
        guard let (w, h) = input.dimensions, let maxW = e.maxWidth, let maxH = e.maxHeight, w > maxW || h > maxH else { return nil }
        let factor = min(Double(maxW) / Double(w), Double(maxH) / Double(h))
        let sw = max(2, Int(Double(w) * factor) & ~1), sh = max(2, Int(Double(h) * factor) & ~1)
        return "scale=\(sw):\(sh)"
    }

    static func shortNumber(_ d: Double) -> String { d == d.rounded() ? String(Int(d)) : String(d) }

    /// One argument, quoted so POSIX shell word splitting gives it back whole. (MediaMTX
    /// expands `$VAR` after splitting, quoted or not: that is how `$RTSP_PORT` reaches the URL,
    /// and why camera inputs must not contain a `$` of their own.)
    public static func shellQuoted(_ s: String) -> String {
        if s.isEmpty { return "''" }
        let plain = s.unicodeScalars.allSatisfy { c in
            c.isASCII && (c.properties.isAlphabetic || ("0"..."9").contains(c) || "-_./:=,+@%$".unicodeScalars.contains(c))
        }
        if plain { return s }
        return "'" + s.replacingSingleQuotes() + "'"
    }
}

extension String {
    /// `'` as `'\''` inside a single-quoted word.
    func replacingSingleQuotes() -> String {
        var out = ""
        for c in self { out += c == "'" ? "'\\''" : String(c) }
        return out
    }
}
