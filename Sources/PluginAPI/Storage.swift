/// The two kinds of media files.
@frozen
public enum MediaKind: String, Sendable {
    /// Recordings (video files) and snapshots (images); the raw values are `recordings` and `snapshots`.
    case recordings, snapshots
}

/// One stored media file.
public struct MediaFile: Sendable, Equatable {
    /// The file's name, without a directory.
    public var filename: String
    /// Recording or snapshot.
    public var kind: MediaKind
    /// The camera it came from.
    public var device: String
    /// Its size, in bytes.
    public var fileSize: Int
    /// Seconds, for recordings whose length is known (probed in the background); nil until then.
    public var duration: Double?
    /// `WIDTHxHEIGHT`, when known.
    public var resolution: String?
    /// When it was created, seconds since the epoch (`created_time`).
    public var createdTime: Double
    /// When it was last modified, seconds since the epoch (`modified_time`).
    public var modifiedTime: Double
    /// File format (`fmp4`, `mp4`, `mkv`, `jpg`, `png`).
    public var format: String
    /// Where clients download it (`/files/recordings/<name>`), nil when it is not served.
    public var downloadPath: String?
    /// Being written now (a recording in progress): not deleted by retention, not deletable.
    public var inUse: Bool

    /// A file, field by field.
    public init(filename: String, kind: MediaKind, device: String, fileSize: Int, duration: Double?, resolution: String?,
                createdTime: Double, modifiedTime: Double, format: String, downloadPath: String?, inUse: Bool) {
        self.filename = filename
        self.kind = kind
        self.device = device
        self.fileSize = fileSize
        self.duration = duration
        self.resolution = resolution
        self.createdTime = createdTime
        self.modifiedTime = modifiedTime
        self.format = format
        self.downloadPath = downloadPath
        self.inUse = inUse
    }
}

/// One page of a listing, newest first.
public struct MediaPage: Sendable {
    /// This page's files, newest first.
    public var files: [MediaFile]
    /// Files matching the query in all pages.
    public var total: Int
    /// A page of `files` out of `total` matching.
    public init(files: [MediaFile], total: Int) {
        self.files = files
        self.total = total
    }
}

/// How full the store's filesystem is against its thresholds.
public struct StorageLevel: Sendable, Hashable, RawRepresentable, CustomStringConvertible, Comparable {
    enum Value: String, Sendable { case normal, warning, critical }
    let value: Value
    init(_ value: Value) { self.value = value }
    /// Parses a level's name (`normal`, `warning`, `critical`); nil for anything else.
    public init?(rawValue: String) {
        guard let v = Value(rawValue: rawValue) else { return nil }
        value = v
    }
    /// The level's name as `get_storage_info` and `storage.warning` carry it in `level`: `normal`, `warning` or `critical`.
    public var rawValue: String { value.rawValue }
    /// The same as ``rawValue``.
    public var description: String { rawValue }
    /// Below the warn threshold.
    public static let normal = StorageLevel(.normal)
    /// At or above the warn threshold.
    public static let warning = StorageLevel(.warning)
    /// At or above the block threshold: new recordings and snapshots are refused (`-32060`)
    /// and running recordings are ended.
    public static let critical = StorageLevel(.critical)
    /// normal < warning < critical.
    public static func < (a: StorageLevel, b: StorageLevel) -> Bool { a.rank < b.rank }
    var rank: Int { value == .normal ? 0 : (value == .warning ? 1 : 2) }
}

/// Space figures and thresholds (`get_storage_info`).
public struct StorageInfo: Sendable, Equatable {
    /// Of the filesystem holding the store.
    public var totalBytes: Int
    /// Bytes in use on that filesystem.
    public var usedBytes: Int
    /// Free for unprivileged writers.
    public var availableBytes: Int
    /// `usedBytes / totalBytes`, percent.
    public var usagePercent: Double
    /// The store's own files.
    public var recordingsBytes: Int
    /// Bytes of the store's snapshot files.
    public var snapshotsBytes: Int
    /// Percent of the filesystem at which a warning is raised.
    public var warnPercent: Double
    /// Percent at which writing is refused.
    public var blockPercent: Double
    /// Where usage stands against the thresholds.
    public var level: StorageLevel

    /// Figures, field by field.
    public init(totalBytes: Int, usedBytes: Int, availableBytes: Int, usagePercent: Double, recordingsBytes: Int,
                snapshotsBytes: Int, warnPercent: Double, blockPercent: Double, level: StorageLevel) {
        self.totalBytes = totalBytes
        self.usedBytes = usedBytes
        self.availableBytes = availableBytes
        self.usagePercent = usagePercent
        self.recordingsBytes = recordingsBytes
        self.snapshotsBytes = snapshotsBytes
        self.warnPercent = warnPercent
        self.blockPercent = blockPercent
        self.level = level
    }
}

/// What a retention policy limits (`policy_type`).
public struct RetentionPolicyType: Sendable, Hashable, RawRepresentable, CustomStringConvertible {
    enum Value: String, Sendable { case age, size, manual }
    let value: Value
    init(_ value: Value) { self.value = value }
    /// Parses a type's name (`age`, `size`, `manual`); nil for anything else.
    public init?(rawValue: String) {
        guard let v = Value(rawValue: rawValue) else { return nil }
        value = v
    }
    /// The type's name as `policy_type` carries it: `age`, `size` or `manual`.
    public var rawValue: String { value.rawValue }
    /// The same as ``rawValue``.
    public var description: String { rawValue }
    /// Files older than `maxAgeDays` go.
    public static let age = RetentionPolicyType(.age)
    /// The oldest files go while the store is over `maxSizeGB`.
    public static let size = RetentionPolicyType(.size)
    /// Nothing goes by itself; `cleanup_old_files` applies the age and size limits that are set.
    public static let manual = RetentionPolicyType(.manual)
}

/// The retention policy, persisted by the storage provider across restarts.
public struct RetentionPolicy: Sendable, Equatable {
    /// What the policy limits (`policy_type`).
    public var type: RetentionPolicyType
    /// Whether the policy is in force (`enabled`); a disabled one removes nothing.
    public var enabled: Bool
    /// The age limit in days (`max_age_days`): files last modified longer ago go; nil for none.
    public var maxAgeDays: Double?
    /// The size limit in GB of 10^9 bytes (`max_size_gb`): the oldest files go while the store is larger; nil for none.
    public var maxSizeGB: Double?
    /// A policy, field by field.
    public init(type: RetentionPolicyType, enabled: Bool, maxAgeDays: Double?, maxSizeGB: Double?) {
        self.type = type
        self.enabled = enabled
        self.maxAgeDays = maxAgeDays
        self.maxSizeGB = maxSizeGB
    }
}

/// What a cleanup removed, or would remove (`dry_run`).
public struct CleanupReport: Sendable, Equatable {
    /// False for a dry run (nothing was deleted).
    public var executed: Bool
    /// The files removed (or that would be), oldest first.
    public var files: [MediaFile]
    /// Bytes removed (or that would be, for a dry run).
    public var bytesFreed: Int
    /// A one-line summary for the client (`message`).
    public var message: String
    /// A report, field by field.
    public init(executed: Bool, files: [MediaFile], bytesFreed: Int, message: String) {
        self.executed = executed
        self.files = files
        self.bytesFreed = bytesFreed
        self.message = message
    }
}

/// Receives the storage provider's level changes, once per crossing of a threshold: the host
/// publishes `storage.warning` and, at ``StorageLevel/critical``, ends running recordings.
public protocol StorageEventSink: AnyObject, Sendable {
    /// Usage crossed a threshold: `info` holds the figures now, `previous` the level before.
    func storageLevelChanged(_ info: StorageInfo, from previous: StorageLevel)
}

/// A capability: where media files live, their catalogue, retention and space accounting.
public protocol StorageProvider: AnyObject, Sendable {
    /// Starts (catalogue, watching, periodic retention); level changes go to `sink`.
    func start(_ sink: any StorageEventSink) async throws
    /// The directory new files of `kind` for `device` are written to (created if needed);
    /// throws `-32060` when usage is at or above the block threshold.
    func directory(for kind: MediaKind, device: String) async throws -> String
    /// A file at `path` is being written (a recording segment): listed as in use, never
    /// deleted by retention or `delete_*`.
    func fileStarted(_ kind: MediaKind, path: String) async
    /// A file at `path` is complete: catalogue it now (and probe it in the background).
    func fileFinished(_ kind: MediaKind, path: String) async
    /// A page of files of `kind`, newest first, optionally for one camera.
    func list(_ kind: MediaKind, device: String?, limit: Int, offset: Int) async throws -> MediaPage
    /// One file; `-32010` if it does not exist.
    func info(_ kind: MediaKind, filename: String) async throws -> MediaFile
    /// Deletes one file; `-32010` if it does not exist, `-32020` while it is being written.
    func delete(_ kind: MediaKind, filename: String) async throws
    /// Space figures and thresholds.
    func storageInfo() async throws -> StorageInfo
    /// The policy in force.
    func retentionPolicy() async throws -> RetentionPolicy
    /// Replaces the policy (persisted) and returns it.
    func setRetentionPolicy(_ policy: RetentionPolicy) async throws -> RetentionPolicy
    /// Applies the policy now, or lists what it would remove.
    func cleanup(dryRun: Bool) async throws -> CleanupReport
    /// Stops background work.
    func stop() async
}
