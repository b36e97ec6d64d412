/// The two kinds of media files.
@frozen
public enum MediaKind: String, Sendable {
    case recordings, snapshots
}

/// One stored media file.
public struct MediaFile: Sendable, Equatable {
    public var filename: String
    public var kind: MediaKind
    public var device: String
    public var fileSize: Int
    /// Seconds, for recordings whose length is known.
    public var duration: Double?
    public var createdTime: Double
    public var modifiedTime: Double
    /// File format / extension (`mp4`, `jpg`, …).
    public var format: String
    public init(filename: String, kind: MediaKind, device: String, fileSize: Int, duration: Double?,
                createdTime: Double, modifiedTime: Double, format: String) {
        self.filename = filename
        self.kind = kind
        self.device = device
        self.fileSize = fileSize
        self.duration = duration
        self.createdTime = createdTime
        self.modifiedTime = modifiedTime
        self.format = format
    }
}

/// One page of a listing, newest first.
public struct MediaPage: Sendable {
    public var files: [MediaFile]
    /// Files matching the query in all pages.
    public var total: Int
    public init(files: [MediaFile], total: Int) {
        self.files = files
        self.total = total
    }
}

/// A capability: where media files live, their listing, retention and space accounting.
public protocol StorageProvider: AnyObject, Sendable {
    /// A page of files of `kind`, newest first, optionally for one camera.
    func list(_ kind: MediaKind, device: String?, limit: Int, offset: Int) async throws -> MediaPage
    /// One file; `-32010` if it does not exist.
    func info(_ kind: MediaKind, filename: String) async throws -> MediaFile
    /// Deletes one file; `-32010` if it does not exist.
    func delete(_ kind: MediaKind, filename: String) async throws
    /// The absolute path a new file named `filename` should be written to; throws `-32060`
    /// when free space is below the block threshold.
    func destination(_ kind: MediaKind, filename: String) async throws -> String
    /// The absolute path of an existing file, for downloads.
    func path(_ kind: MediaKind, filename: String) async throws -> String
    /// Space figures and thresholds, as the `get_storage_info` result object.
    func storageInfo() async throws -> JSONObject
}
