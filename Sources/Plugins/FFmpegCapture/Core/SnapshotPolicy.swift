import PluginAPI

/// How a snapshot is taken, decided from what the request offers (the tier policy; pure).
public enum SnapshotPlan: Sendable, Equatable {
    /// Tier 1: the stream is up: a frame from it (the frame cache, or a reader started for it).
    case fromStream
    /// Tier 2: the media backend is up but the stream is not: publish it, then take a frame.
    case startStream
    /// Tier 3: no media backend (or it is down): capture from the camera's input directly.
    case direct
    /// Nothing can take it now, and why.
    case impossible(String)

    public static func choose(stream: StreamReadiness?, input: CaptureInput?) -> SnapshotPlan {
        if let s = stream, s.backendAvailable { return s.ready ? .fromStream : .startStream }
        guard let input else { return .impossible("the camera cannot be read now (its source gives no input)") }
        // The device has one reader; while the media server's publisher may hold it, opening
        // it again would fail or steal it.
        if input.exclusive, stream?.publisherActive == true {
            return .impossible("the camera is held by the media server's publisher, which cannot be reached")
        }
        return .direct
    }

    /// What to try after `failed` did not work, nil when nothing else may be tried.
    public static func fallback(after failed: SnapshotPlan, stream: StreamReadiness?, input: CaptureInput?) -> SnapshotPlan? {
        switch failed {
        case .fromStream, .startStream:
            // The stream failed: direct capture only when it cannot collide with the publisher.
            guard let input, !input.exclusive || stream?.publisherActive != true else { return nil }
            return .direct
        default:
            return nil
        }
    }

    public var tier: SnapshotTier? {
        switch self {
        case .fromStream: return .stream
        case .startStream: return .startedStream
        case .direct: return .direct
        case .impossible: return nil
        }
    }
}

/// How a recording reads its camera (pure).
public enum RecordingSource: Sendable, Equatable {
    /// The published stream, stored as it is (`-c copy`).
    case stream
    /// The camera's input, encoded here (no media backend, or it is down).
    case direct
    case impossible(String)

    public static func choose(stream: StreamReadiness?, input: CaptureInput?) -> RecordingSource {
        if let s = stream, s.backendAvailable { return .stream }
        guard let input else { return .impossible("the camera cannot be read now (its source gives no input)") }
        if input.exclusive, stream?.publisherActive == true {
            return .impossible("the camera is held by the media server's publisher, which cannot be reached")
        }
        return .direct
    }
}
