import PluginAPI

/// The FFmpeg command lines the engine runs (pure, so they are tested without FFmpeg).
public enum FFmpegCommands {
    static let quiet = ["-hide_banner", "-loglevel", "error", "-nostdin", "-y"]

    /// Reading the published stream (RTSP over TCP).
    static func streamInput(_ url: String) -> [String] { ["-rtsp_transport", "tcp", "-i", url] }

    /// The same for a reader that wants its first frame soon: our publisher's SDP carries the
    /// H.264 parameter sets, so FFmpeg need not spend its default 5 s of analysis (about 1 s
    /// saved per new reader); a stream without them fails fast and the tier policy moves on.
    static func quickStreamInput(_ url: String) -> [String] { ["-rtsp_transport", "tcp", "-analyzeduration", "0", "-probesize", "32", "-i", url] }

    /// One image to `output`: JPEG at `qscale`, or PNG. `-update 1` writes one file, so a `%`
    /// in a client's file name is never taken for a pattern.
    static func imageOutput(_ format: SnapshotFormat, qscale: Int, output: String) -> [String] {
        let codec = format == .png ? ["-c:v", "png"] : ["-c:v", "mjpeg", "-q:v", String(qscale)]
        return ["-frames:v", "1", "-an"] + codec + ["-f", "image2", "-update", "1", output]
    }

    /// A frame of the stream (the first decodable one: after the next keyframe).
    public static func grabFromStream(url: String, format: SnapshotFormat, qscale: Int, output: String) -> [String] {
        quiet + quickStreamInput(url) + imageOutput(format, qscale: qscale, output: output)
    }

    /// A frame straight from the camera's input, skipping the first frames (exposure settles).
    public static func grabDirect(input: CaptureInput, skip: Int, format: SnapshotFormat, qscale: Int, output: String) -> [String] {
        let select = skip > 0 ? ["-vf", "select=gte(n\\,\(skip))"] : []
        return quiet + input.ffmpegArguments + select + imageOutput(format, qscale: qscale, output: output)
    }

    /// Re-encodes an image file (a cached frame) to another format or quality.
    public static func transcode(input: String, format: SnapshotFormat, qscale: Int, output: String) -> [String] {
        quiet + ["-f", "image2", "-i", input] + imageOutput(format, qscale: qscale, output: output)
    }

    /// The frame cache's reader: the stream decoded at a low rate, JPEG frames on standard output.
    public static func cacheReader(url: String, fps: Double, qscale: Int) -> [String] {
        quiet + quickStreamInput(url) + ["-an", "-vf", "fps=\(fps)", "-c:v", "mjpeg", "-q:v", String(qscale), "-f", "image2pipe", "pipe:1"]
    }

    /// A segmented recording. Segment files are named by the (UTC) second they open,
    /// `<device>_<YYYY-MM-DD>_<HH-MM-SS>.<ext>`; each completed one is listed on standard
    /// output (`name,start,end`, FFmpeg's segment list) and each opened one logged on standard
    /// error (`Opening '…' for writing`). Packets are flushed as they are written and MP4 is
    /// written fragmented, so a killed FFmpeg leaves playable files (all but the last fragment).
    public static func record(source: RecordingSource, url: String?, input: CaptureInput?, format: RecordingFormat, directory: String,
                              device: String, segmentSeconds: Double, duration: Int?, settings: CaptureSettings) -> [String] {
        var args = ["-hide_banner", "-loglevel", "info", "-nostats", "-nostdin", "-y"]
        switch source {
        case .stream:
            args += streamInput(url ?? "") + ["-map", "0:v", "-c:v", "copy"]
        default:
            let i = input
            args += (i?.ffmpegArguments ?? []) + ["-map", "0:v"]
            if i?.codec == .h264 {
                args += ["-c:v", "copy"]
            } else {
                let fps = max(i?.frameRate.value ?? 30, 1)
                let gop = max(1, Int(fps.rounded()))
                args += ["-c:v", "libx264", "-preset", settings.directPreset, "-tune", "zerolatency", "-pix_fmt", "yuv420p",
                         "-b:v", String(settings.directBitrate), "-maxrate", String(settings.directBitrate * 3 / 2),
                         "-bufsize", String(settings.directBitrate * 2), "-g", String(gop), "-keyint_min", String(gop), "-sc_threshold", "0"]
            }
        }
        if let duration { args += ["-t", String(duration)] }
        let segmentFormat: [String]
        switch format {
        case .mkv: segmentFormat = ["-segment_format", "matroska", "-segment_format_options", "flush_packets=1:cluster_time_limit=1000"]
        default: segmentFormat = ["-segment_format", "mp4", "-segment_format_options", "movflags=+frag_keyframe+empty_moov+default_base_moof:flush_packets=1"]
        }
        args += ["-flush_packets", "1", "-f", "segment", "-segment_time", shortNumber(segmentSeconds)] + segmentFormat
        args += ["-strftime", "1", "-segment_list", "pipe:1", "-segment_list_type", "csv",
                 directory + "/" + device + "_%Y-%m-%d_%H-%M-%S." + format.fileExtension]
        return args
    }

    /// Rewrites a fragmented MP4 as a progressive one with its index first (the `mp4` format, once a segment is complete).
    public static func progressiveMP4(input: String, output: String) -> [String] {
        quiet + ["-i", input, "-map", "0", "-c", "copy", "-movflags", "+faststart", "-f", "mp4", output]
    }

    /// Rewrites a Matroska file whose writer was killed, so it gets its duration and index.
    public static func repairMatroska(input: String, output: String) -> [String] {
        quiet + ["-i", input, "-map", "0", "-c", "copy", "-f", "matroska", output]
    }

    static func shortNumber(_ d: Double) -> String { d == d.rounded() ? String(Int(d)) : String(d) }
}

/// What the recording FFmpeg says about its segments (pure parsing of its output lines).
public enum SegmentLog {
    /// `[segment @ 0x…] Opening '/dir/cam_2026-…mp4' for writing` → the file name, for files in `directory`.
    public static func opened(_ line: String, directory: String) -> String? {
        let head = "Opening '", tail = "' for writing"
        guard let start = find(head, in: line), let end = find(tail, in: line, after: start + head.utf8.count) else { return nil }
        let bytes = Array(line.utf8)
        let path = String(decoding: bytes[(start + head.utf8.count)..<end], as: UTF8.self)
        let prefix = directory.hasSuffix("/") ? directory : directory + "/"
        guard path.hasPrefix(prefix) else { return nil }
        let name = String(path.dropFirst(prefix.count))
        return name.contains("/") ? nil : name
    }

    /// The byte offset of `needle` in `s` at or after `after`.
    static func find(_ needle: String, in s: String, after: Int = 0) -> Int? {
        let h = Array(s.utf8), n = Array(needle.utf8)
        guard n.count <= h.count else { return nil }
        var i = after
        while i + n.count <= h.count {
            if h[i..<(i + n.count)].elementsEqual(n) { return i }
            i += 1
        }
        return nil
    }

    /// A segment list line, `cam_….mp4,0.000000,2.000000` → the name and its start and end
    /// (seconds of stream time); nil for anything else.
    public static func completed(_ line: String) -> (name: String, start: Double, end: Double)? {
        let parts = line.split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count >= 3, let start = Double(parts[parts.count - 2]), let end = Double(parts[parts.count - 1]) else { return nil }
        var name = parts[0..<(parts.count - 2)].joined(separator: ",")
        if name.hasPrefix("\"") && name.hasSuffix("\"") && name.count >= 2 { name = String(name.dropFirst().dropLast()) }
        guard !name.isEmpty, !name.contains("/") else { return nil }
        return (name.split(separator: "/").last.map(String.init) ?? name, start, end)
    }
}
