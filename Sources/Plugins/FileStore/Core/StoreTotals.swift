import PluginAPI

/// Files and bytes per kind and camera, kept beside the catalogue so that a page's `total`
/// and the storage figures never count rows.
public struct StoreTotals: Sendable, Equatable {
    public struct Figures: Sendable, Equatable {
        public var count = 0
        public var bytes = 0
    }
    private var byKind: [MediaKind: [String: Figures]] = [:]

    public init() {}

    public mutating func set(_ kind: MediaKind, device: String, count: Int, bytes: Int) {
        byKind[kind, default: [:]][device] = Figures(count: count, bytes: bytes)
    }

    /// A file added (`count` 1), removed (-1) or resized (0), by `bytes`.
    public mutating func adjust(_ kind: MediaKind, device: String, count: Int, bytes: Int) {
        var f = byKind[kind, default: [:]][device] ?? Figures()
        f.count += count
        f.bytes += bytes
        byKind[kind, default: [:]][device] = f.count > 0 ? f : nil
    }

    /// The cameras with files of `kind`.
    public func devices(_ kind: MediaKind) -> [String] { Array((byKind[kind] ?? [:]).keys) }

    public func figures(_ kind: MediaKind, device: String? = nil) -> Figures {
        let devices = byKind[kind] ?? [:]
        if let device { return devices[device] ?? Figures() }
        return devices.values.reduce(into: Figures()) { $0.count += $1.count; $0.bytes += $1.bytes }
    }
}
