import PluginAPI

/// One catalogued file: what the directory says (kind, camera, name, size, times) and what a
/// probe found later (duration, resolution, the exact format).
public struct StoredFile: Sendable, Equatable {
    public var kind: MediaKind
    /// The camera: the name of the subdirectory the file is in.
    public var device: String
    public var name: String
    public var size: Int
    /// Nanoseconds since the epoch: the file's modification time, exactly as `stat` gives it
    /// (reconcile compares it), and its creation time (see ``FileTimes``).
    public var modifiedNs: Int64
    public var createdNs: Int64
    public var format: String
    public var duration: Double?
    public var resolution: String?
    /// Whether the probe ran for this size and modification time.
    public var probed: Bool

    public init(kind: MediaKind, device: String, name: String, size: Int, modifiedNs: Int64, createdNs: Int64, format: String,
                duration: Double? = nil, resolution: String? = nil, probed: Bool = false) {
        self.kind = kind
        self.device = device
        self.name = name
        self.size = size
        self.modifiedNs = modifiedNs
        self.createdNs = createdNs
        self.format = format
        self.duration = duration
        self.resolution = resolution
        self.probed = probed
    }

    public var modified: Double { Double(modifiedNs) / 1e9 }
    public var created: Double { Double(createdNs) / 1e9 }

    /// Where it is, under the store's directory for its kind.
    public func path(in kindDirectory: String) -> String { "\(kindDirectory)/\(device)/\(name)" }

    /// The SDK's shape, with its download path and whether it is being written.
    public func media(inUse: Bool) -> MediaFile {
        MediaFile(filename: name, kind: kind, device: device, fileSize: size, duration: duration, resolution: resolution,
                  createdTime: created, modifiedTime: modified, format: format,
                  downloadPath: "/files/\(kind.rawValue)/\(MediaName.percentEncoded(name))", inUse: inUse)
    }
}

/// A file's identity in the store: its kind, camera and name.
public struct FileKey: Hashable, Sendable {
    public var kind: MediaKind
    public var device: String
    public var name: String
    public init(kind: MediaKind, device: String, name: String) {
        self.kind = kind
        self.device = device
        self.name = name
    }
}

extension StoredFile {
    public var key: FileKey { FileKey(kind: kind, device: device, name: name) }
}
