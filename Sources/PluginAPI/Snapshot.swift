/// An image format `take_snapshot` offers.
public struct SnapshotFormat: Sendable, Hashable, RawRepresentable, CustomStringConvertible {
    enum Value: String, Sendable { case jpg, png }
    let value: Value
    init(_ value: Value) { self.value = value }
    /// Parses a format's name (`jpg`, `png`); nil for anything else.
    public init?(rawValue: String) {
        guard let v = Value(rawValue: rawValue) else { return nil }
        value = v
    }
    /// The contract's name, also the file extension.
    public var rawValue: String { value.rawValue }
    /// The same as ``rawValue``.
    public var description: String { rawValue }
    /// JPEG, `jpg`.
    public static let jpg = SnapshotFormat(.jpg)
    /// PNG, `png`.
    public static let png = SnapshotFormat(.png)
}

/// How a snapshot was taken, as the contract numbers it (`tier`).
public struct SnapshotTier: Sendable, Hashable, RawRepresentable, CustomStringConvertible {
    enum Value: Int, Sendable { case stream = 1, startedStream = 2, direct = 3 }
    let value: Value
    init(_ value: Value) { self.value = value }
    /// The tier numbered `rawValue` (1, 2 or 3); nil for any other number.
    public init?(rawValue: Int) {
        guard let v = Value(rawValue: rawValue) else { return nil }
        value = v
    }
    /// The contract's number, 1, 2 or 3, as `tier` carries it.
    public var rawValue: Int { value.rawValue }
    /// `tier <n>`, for logs.
    public var description: String { "tier \(rawValue)" }
    /// 1: a frame from the camera's published stream (or the frame cache kept from it).
    public static let stream = SnapshotTier(.stream)
    /// 2: the stream was started on demand for this snapshot, then a frame was taken from it.
    public static let startedStream = SnapshotTier(.startedStream)
    /// 3: captured directly from the camera's input (no media backend, or it is down).
    public static let direct = SnapshotTier(.direct)
}

/// A snapshot to take. The capture engine chooses how (its tier policy) from what is given.
public struct SnapshotRequest: Sendable {
    /// The camera to take the image from.
    public var device: String
    /// How to read the camera directly; nil when the source cannot provide it now.
    public var input: CaptureInput?
    /// The camera's published stream; nil without a media backend.
    public var stream: (any StreamSource)?
    /// Where to write the image (in the storage provider's directory), extension included.
    public var outputPath: String
    /// The image format to write.
    public var format: SnapshotFormat
    /// JPEG quality 1–100 (ignored for PNG); nil for the engine's configured default.
    public var quality: Int?

    /// A request, field by field.
    public init(device: String, input: CaptureInput?, stream: (any StreamSource)?, outputPath: String,
                format: SnapshotFormat, quality: Int?) {
        self.device = device
        self.input = input
        self.stream = stream
        self.outputPath = outputPath
        self.format = format
        self.quality = quality
    }
}

/// What a snapshot produced.
public struct SnapshotResult: Sendable, Equatable {
    /// Where the image was written.
    public var outputPath: String
    /// The image file's size, in bytes.
    public var fileSize: Int
    /// How the frame was obtained.
    public var tier: SnapshotTier
    /// How old the frame was when written, in milliseconds.
    public var frameAgeMs: Int
    /// `WIDTHxHEIGHT` of the image, empty when unknown.
    public var resolution: String

    /// A result, field by field.
    public init(outputPath: String, fileSize: Int, tier: SnapshotTier, frameAgeMs: Int, resolution: String) {
        self.outputPath = outputPath
        self.fileSize = fileSize
        self.tier = tier
        self.frameAgeMs = frameAgeMs
        self.resolution = resolution
    }
}
