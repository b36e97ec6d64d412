import Codecs
import Glibc
import PluginAPI

/// The store's state and every blocking thing it does — SQLite, directory scans, `unlink`,
/// `statvfs`, opening downloads — on its own thread (``ThreadExecutor``), never on the
/// cooperative pool or the network thread. ``FileStore`` drives it.
public actor MediaStore {
    nonisolated let executor = ThreadExecutor()
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    let settings: FileStoreSettings
    let logger: Logger
    let meter: StorageMeter
    /// The kind directories, canonical (`realpath`) once opened.
    public private(set) var roots: [MediaKind: String]
    var catalogue: Catalogue?
    /// The catalogue file's inode, to notice it deleted or replaced under a running daemon.
    var catalogueInode: UInt64 = 0
    var totals = StoreTotals()
    /// The listing order (pages at any offset without stepping through SQLite rows).
    var order = PageIndex()
    var inUse = Set<FileKey>()
    var tracker: LevelTracker
    var policy: RetentionPolicy

    public init(settings: FileStoreSettings, logger: Logger, fakeUsage: String?) {
        self.settings = settings
        self.logger = logger
        roots = [.recordings: settings.recordingsDir, .snapshots: settings.snapshotsDir]
        meter = StorageMeter(path: settings.recordingsDir, fakeUsage: fakeUsage)
        tracker = LevelTracker(warnPercent: settings.warnPercent, blockPercent: settings.blockPercent)
        policy = settings.retention
    }

    func root(_ kind: MediaKind) -> String { roots[kind] ?? (kind == .recordings ? settings.recordingsDir : settings.snapshotsDir) }

    func db() throws(RPCError) -> Catalogue {
        guard let catalogue else { throw RPCError.internalError("the file catalogue is not open") }
        return catalogue
    }

    // MARK: Opening

    /// Creates the directories, opens (or rebuilds) the catalogue, loads the retention policy
    /// and reconciles the catalogue with the directories.
    public func open() throws {
        for kind in [MediaKind.recordings, .snapshots] {
            let path = root(kind)
            guard MediaStore.makeDirectories(path) else {
                throw PluginConfigError(key: kind == .recordings ? "recordings_dir" : "snapshots_dir",
                                        problem: "cannot create \(path): \(String(cString: strerror(errno)))")
            }
            if let real = realpath(path, nil) {
                roots[kind] = String(cString: real)
                free(real)
            }
        }
        guard MediaStore.makeDirectories(MediaStore.parent(settings.catalogPath)) else {
            throw PluginConfigError(key: "catalog", problem: "cannot create the directory of \(settings.catalogPath): \(String(cString: strerror(errno)))")
        }
        try openCatalogue(reason: nil)
    }

    func openCatalogue(reason: String?) throws {
        catalogue = nil
        let started = Timestamp.monotonic()
        let c: Catalogue, opened: Catalogue.Opened
        do {
            (c, opened) = try Catalogue.open(path: settings.catalogPath)
        } catch {
            // Serve the files anyway (never a failed start); nothing set survives a restart.
            logger.error("file catalogue \(settings.catalogPath) cannot be opened (\(error)): using one in memory until the next start")
            (c, opened) = try Catalogue.open(path: ":memory:")
        }
        catalogue = c
        catalogueInode = MediaStore.inode(settings.catalogPath)
        switch opened {
        case .existing(let from):
            if from < CatalogueSchema.current { logger.info("file catalogue migrated from schema \(from) to \(CatalogueSchema.current)") }
            policy = try loadPolicy(c) ?? policy
        case .created:
            if let reason { logger.warning("file catalogue \(settings.catalogPath) \(reason): rebuilding it from the directories") }
            try savePolicy(c)
        case .replaced(let why, let aside):
            logger.warning("file catalogue \(settings.catalogPath) was unusable (\(why)); moved to \(aside), rebuilding it from the directories")
            try savePolicy(c)
        }
        let counts = try reconcileAll()
        if opened == .created && reason == nil && counts.added > 0 {
            // Files but no catalogue: deleted while the daemon was stopped (or files put there before a first start).
            logger.warning("file catalogue \(settings.catalogPath) not found beside \(counts.added) files: rebuilt from the directories "
                           + "(the retention policy is the configured one)")
        }
        logger.info("file catalogue: \(totals.figures(.recordings).count) recordings, \(totals.figures(.snapshots).count) snapshots "
                    + "(\(counts.added) added, \(counts.changed) changed, \(counts.removed) removed) in \(Int((Timestamp.monotonic() - started) * 1000)) ms",
                    [("catalog", settings.catalogPath)])
    }

    /// When the catalogue file was deleted or replaced under the running daemon: a new one,
    /// rebuilt from the directories, with the policy in force. True when it happened.
    public func reopenIfGone() throws -> Bool {
        if catalogue == nil { return false }
        let now = MediaStore.inode(settings.catalogPath)
        guard now != catalogueInode else { return false }
        try openCatalogue(reason: now == 0 ? "was deleted" : "was replaced")
        return true
    }

    static func makeDirectories(_ path: String) -> Bool {
        var st = stat()
        if stat(path, &st) == 0 { return st.st_mode & S_IFMT == S_IFDIR }
        let parent = MediaStore.parent(path)
        if parent != path && !parent.isEmpty && !makeDirectories(parent) { return false }
        return mkdir(path, 0o750) == 0 || errno == EEXIST
    }

    static func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    static func inode(_ path: String) -> UInt64 {
        var st = stat()
        return stat(path, &st) == 0 ? UInt64(st.st_ino) : 0
    }

    // MARK: Reconcile

    public struct Counts: Sendable, Equatable {
        public var added = 0, changed = 0, removed = 0
        public init() {}
        mutating func add(_ p: Reconciler.Plan) {
            added += p.added.count
            changed += p.changed.count
            removed += p.removed.count
        }
        mutating func add(_ other: Counts) {
            added += other.added
            changed += other.changed
            removed += other.removed
        }
    }

    /// Every camera directory of a kind, and the cameras the catalogue knows whose directory is gone.
    func cameras(_ kind: MediaKind) -> [String] { Set(DirectoryScanner.cameras(root(kind))).union(totals.devices(kind)).sorted() }

    /// Every camera of both kinds.
    func allCameras() -> [(MediaKind, String)] {
        [MediaKind.recordings, .snapshots].flatMap { kind in cameras(kind).map { (kind, $0) } }
    }

    /// The periodic rescan: every camera directory against the catalogue, one camera per
    /// call, so requests are served in between (all 100,000 files in one call held the store
    /// 0.45–0.77 s; one camera of 12,500 takes 50–80 ms). The listing order is reloaded once,
    /// at the end, and only when something changed; a camera that fails does not stop the others.
    public nonisolated func rescanByCamera() async throws -> Counts {
        var counts = Counts()
        var failure: (any Error)?
        for (kind, device) in await allCameras() {
            do { counts.add(try await reconcile(kind, device: device, reloading: false)) } catch { failure = failure ?? error }
        }
        try await rescanned(changed: counts != Counts())
        if let failure { throw failure }
        return counts
    }

    /// After a rescan: totals re-read from the catalogue (they are kept incrementally in
    /// between), the listing order too when files changed.
    func rescanned(changed: Bool) throws {
        let c = try db()
        if changed { try reload(c) } else { totals = try c.totals() }
    }

    /// Every camera directory of both kinds against the catalogue, in one transaction.
    public func reconcileAll() throws -> Counts {
        let c = try db()
        totals = try c.totals()
        var counts = Counts()
        try c.db.transaction {
            for kind in [MediaKind.recordings, .snapshots] {
                var plan = Reconciler.Plan()
                for device in cameras(kind) {
                    plan.merge(try reconcilePlan(c, kind, device: device))
                }
                try c.apply(plan)
                counts.add(plan)
                logRemovals(plan)
            }
        }
        try reload(c)
        return counts
    }

    /// One camera's directory against the catalogue.
    /// `reloading`: the listing order and totals are read again at once (else the caller does
    /// it after several cameras).
    func reconcile(_ kind: MediaKind, device: String, reloading: Bool = true) throws -> Counts {
        let c = try db()
        let plan = try reconcilePlan(c, kind, device: device)
        var counts = Counts()
        guard !plan.isEmpty else { return counts }
        try c.db.transaction { try c.apply(plan) }
        logRemovals(plan)
        if reloading { try reload(c) }
        counts.add(plan)
        return counts
    }

    func reconcilePlan(_ c: Catalogue, _ kind: MediaKind, device: String) throws -> Reconciler.Plan {
        let scanned = DirectoryScanner.scan(kind, root: root(kind), device: device) ?? []
        let known = try c.known(kind, device: device, capacity: totals.figures(kind, device: device).count)
        return Reconciler.plan(kind, device: device, scanned: scanned, known: known)
    }

    /// Totals and listing order from the catalogue (after a reconcile changed many rows).
    func reload(_ c: Catalogue) throws {
        totals = try c.totals()
        for kind in [MediaKind.recordings, .snapshots] { order.replace(kind, with: try c.order(kind)) }
    }

    func logRemovals(_ plan: Reconciler.Plan) {
        for k in plan.removed.prefix(20) { logger.info("\(k.device)/\(k.name) is gone from the directory: dropped from the catalogue") }
        if plan.removed.count > 20 { logger.info("… and \(plan.removed.count - 20) more gone from the directories") }
    }

    /// One file against the catalogue: added, updated, or dropped when it is not on disk.
    @discardableResult
    func refresh(_ key: FileKey) throws -> StoredFile? {
        let c = try db()
        let onDisk = DirectoryScanner.file(key.kind, root: root(key.kind), device: key.device, name: key.name)
        let known = try c.find(key)
        switch (onDisk, known) {
        case (nil, nil):
            break
        case (nil, let old?):
            try c.delete(key)
            totals.adjust(key.kind, device: key.device, count: -1, bytes: -old.size)
            order.remove(PageIndex.Entry(old), key.kind)
        case (let f?, nil):
            try c.put(f)
            totals.adjust(key.kind, device: key.device, count: 1, bytes: f.size)
            order.insert(PageIndex.Entry(f), key.kind)
        case (let f?, let old?):
            if f.size != old.size || f.modifiedNs != old.modifiedNs {
                try c.put(f)
                totals.adjust(key.kind, device: key.device, count: 0, bytes: f.size - old.size)
                if f.createdNs != old.createdNs {
                    order.remove(PageIndex.Entry(old), key.kind)
                    order.insert(PageIndex.Entry(f), key.kind)
                }
            } else {
                return old
            }
        }
        return onDisk
    }

    /// Applies what the watcher saw; true when everything was rescanned (the watches then
    /// need renewing).
    public func apply(_ changes: [DirectoryWatcher.Change]) throws -> Bool {
        if changes.contains(.everything) {
            _ = try reconcileAll()
            return true
        }
        let c = try db()
        var cameras: [(MediaKind, String)] = []
        try c.db.transaction {
            for change in changes {
                switch change {
                case .file(let key): try refresh(key)
                case .camera(let kind, let device): cameras.append((kind, device))
                case .everything: break
                }
            }
        }
        for (kind, device) in cameras { _ = try reconcile(kind, device: device) }
        return false
    }

    // MARK: Files being written

    /// The key of a path under the store (`<kind dir>/<camera>/<name>`), nil elsewhere.
    func key(_ kind: MediaKind, path: String) -> FileKey? {
        for base in Set([root(kind), kind == .recordings ? settings.recordingsDir : settings.snapshotsDir]) where path.hasPrefix(base + "/") {
            let rest = path.dropFirst(base.count + 1).split(separator: "/", omittingEmptySubsequences: false)
            guard rest.count == 2, Identifier.isValid(String(rest[0])), MediaName.isSafe(String(rest[1])) else { return nil }
            return FileKey(kind: kind, device: String(rest[0]), name: String(rest[1]))
        }
        return nil
    }

    public func started(_ kind: MediaKind, path: String) {
        guard let key = key(kind, path: path) else {
            logger.debug("file outside the store started: \(path)")
            return
        }
        inUse.insert(key)
        do { try refresh(key) } catch { logger.warning("catalogue: \(error)") }
    }

    public func finished(_ kind: MediaKind, path: String) {
        guard let key = key(kind, path: path) else {
            logger.debug("file outside the store finished: \(path)")
            return
        }
        inUse.remove(key)
        do { try refresh(key) } catch { logger.warning("catalogue: \(error)") }
    }

    // MARK: Methods

    public func list(_ kind: MediaKind, device: String?, limit: Int, offset: Int) throws -> MediaPage {
        let c = try db()
        var files: [MediaFile] = []
        for e in order.page(kind, device: device, offset: offset, limit: limit) {
            let key = FileKey(kind: kind, device: e.device, name: e.name)
            if let f = try c.find(key) { files.append(f.media(inUse: inUse.contains(key))) }
        }
        return MediaPage(files: files, total: order.count(kind, device: device))
    }

    /// The file named `name`, checked against the disk: catalogued but gone is dropped (and
    /// not found); on disk but not catalogued yet (the watcher's debounce) is added.
    func lookup(_ kind: MediaKind, name: String) throws -> StoredFile? {
        guard MediaName.isSafe(name) else {
            throw RPCError.invalidParams(param: "filename", rule: "unsafe_name", detail: "'filename' must be a plain file name")
        }
        let c = try db()
        if let known = try c.find(kind, name: name), let f = try refresh(known.key) { return f }
        for device in DirectoryScanner.cameras(root(kind)) {
            if DirectoryScanner.file(kind, root: root(kind), device: device, name: name) != nil {
                return try refresh(FileKey(kind: kind, device: device, name: name))
            }
        }
        return nil
    }

    public func info(_ kind: MediaKind, name: String) throws -> MediaFile {
        guard let f = try lookup(kind, name: name) else { throw RPCError.notFound(resource: "file", id: name) }
        return f.media(inUse: inUse.contains(f.key))
    }

    public func delete(_ kind: MediaKind, name: String) throws {
        guard let f = try lookup(kind, name: name) else { throw RPCError.notFound(resource: "file", id: name) }
        guard !inUse.contains(f.key) else {
            throw RPCError.invalidState("recording", detail: "\(name) is being recorded; stop the recording first")
        }
        try remove(f)
    }

    /// Unlinks a catalogued file (inside its camera's directory, never through a symlink).
    func remove(_ f: StoredFile) throws {
        let dir = Glibc.open(root(f.kind) + "/" + f.device, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard dir >= 0 else { throw RPCError.internalError("cannot open the directory of \(f.name): \(String(cString: strerror(errno)))") }
        defer { close(dir) }
        var st = stat()
        if fstatat(dir, f.name, &st, AT_SYMLINK_NOFOLLOW) == 0, st.st_mode & S_IFMT == S_IFREG {
            guard unlinkat(dir, f.name, 0) == 0 || errno == ENOENT else {
                throw RPCError.internalError("cannot delete \(f.name): \(String(cString: strerror(errno)))")
            }
        }
        try db().delete(f.key)
        totals.adjust(f.kind, device: f.device, count: -1, bytes: -f.size)
        order.remove(PageIndex.Entry(f), f.kind)
    }

    // MARK: Downloads

    /// An open descriptor of the file named `name` and what it is, or the HTTP status to answer.
    public func openForDownload(_ kind: MediaKind, name: String) -> Result<(Int32, DownloadPlan.FileIdentity), DownloadRefusal> {
        guard MediaName.isSafe(name) else { return .failure(.unsafe) }
        let f: StoredFile?
        do { f = try lookup(kind, name: name) } catch { return .failure(.notFound) }
        guard let f, let type = MediaType.of(f.name, kind: kind) else { return .failure(.notFound) }
        let base = root(kind)
        let dir = Glibc.open(base + "/" + f.device, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard dir >= 0 else { return .failure(.notFound) }
        defer { close(dir) }
        let fd = openat(dir, f.name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return .failure(.notFound) }
        var st = stat()
        // A regular file, and (resolving every component) still inside the store.
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG,
              let real = realpath(base + "/" + f.device + "/" + f.name, nil) else {
            close(fd)
            return .failure(.notFound)
        }
        let inside = String(cString: real).hasPrefix(base + "/")
        free(real)
        guard inside else {
            close(fd)
            return .failure(.notFound)
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        let mtime = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
        let format = f.format == "fmp4" ? "video/mp4" : type.contentType
        return .success((fd, DownloadPlan.FileIdentity(size: Int(st.st_size), inode: UInt64(st.st_ino), modifiedNanoseconds: mtime, contentType: format)))
    }

    // MARK: Space

    /// A measurement, with the level change it makes (reported once per crossing).
    public func measure() -> (StorageInfo, LevelChange?) {
        let r = meter.read() ?? StorageMeter.Reading(totalBytes: 0, usedBytes: 0, availableBytes: 0, percent: 0)
        let change = tracker.update(r.percent)
        let info = StorageInfo(totalBytes: r.totalBytes, usedBytes: r.usedBytes, availableBytes: r.availableBytes, usagePercent: r.percent,
                               recordingsBytes: totals.figures(.recordings).bytes, snapshotsBytes: totals.figures(.snapshots).bytes,
                               warnPercent: settings.warnPercent, blockPercent: settings.blockPercent, level: tracker.level ?? .normal)
        return (info, change)
    }

    /// The directory for a new file, given a fresh measurement; `-32060` at or above the block threshold.
    public func directory(_ kind: MediaKind, device: String, measured: StorageInfo) throws -> String {
        guard Identifier.isValid(device) else {
            throw RPCError.invalidParams(param: "device", rule: "pattern", detail: "not a camera id: \(device)")
        }
        if measured.usagePercent >= settings.blockPercent {
            throw RPCError.insufficientStorage(usagePercentage: (measured.usagePercent * 100).rounded() / 100,
                                               detail: "the store's filesystem is \(Int(measured.usagePercent)) % full (block threshold \(settings.blockPercent) %)")
        }
        let path = root(kind) + "/" + device
        guard MediaStore.makeDirectories(path) else {
            throw RPCError.internalError("cannot create \(path): \(String(cString: strerror(errno)))")
        }
        return path
    }

    // MARK: Retention

    public func retentionPolicy() -> RetentionPolicy { policy }

    public func setRetentionPolicy(_ p: RetentionPolicy) throws -> RetentionPolicy {
        policy = p
        try savePolicy(try db())
        return p
    }

    static let policyKey = "retention_policy"

    func loadPolicy(_ c: Catalogue) throws -> RetentionPolicy? {
        guard let text = try c.setting(MediaStore.policyKey), let o = try? JSONValue.parse(text).objectValue,
              let type = o["policy_type"]?.stringValue.flatMap(RetentionPolicyType.init(rawValue:)), let enabled = o["enabled"]?.boolValue else { return nil }
        return RetentionPolicy(type: type, enabled: enabled, maxAgeDays: o["max_age_days"]?.doubleValue, maxSizeGB: o["max_size_gb"]?.doubleValue)
    }

    func savePolicy(_ c: Catalogue) throws {
        let o: JSONValue = .object(["policy_type": .string(policy.type.rawValue), "enabled": .bool(policy.enabled),
                                    "max_age_days": policy.maxAgeDays.map(JSONValue.double) ?? .null,
                                    "max_size_gb": policy.maxSizeGB.map(JSONValue.double) ?? .null])
        try c.setSetting(MediaStore.policyKey, String(decoding: o.jsonBytes, as: UTF8.self))
    }

    /// Applies the policy (or lists what it would remove), oldest first, never a file in use;
    /// every deletion is logged.
    public func cleanup(_ trigger: RetentionPlanner.Trigger, dryRun: Bool, now: Double) throws -> CleanupReport {
        guard policy.enabled else {
            return CleanupReport(executed: !dryRun, files: [], bytesFreed: 0, message: "retention policy disabled: nothing removed")
        }
        let plan = RetentionPlanner.plan(try db().everything(), now: now, policy: policy, inUse: inUse, trigger: trigger)
        if dryRun {
            let bytes = plan.reduce(0) { $0 + $1.size }
            return CleanupReport(executed: false, files: plan.map { $0.media(inUse: false) }, bytesFreed: bytes,
                                 message: "dry run: \(plan.count) files (\(bytes) bytes) would be removed")
        }
        var removed: [StoredFile] = []
        for f in plan {
            do {
                try remove(f)
                removed.append(f)
                logger.notice("retention removed \(f.kind.rawValue)/\(f.device)/\(f.name)", [
                    ("audit", "retention_delete"), ("kind", f.kind.rawValue), ("device", f.device), ("filename", f.name),
                    ("file_size", String(f.size)), ("policy_type", policy.type.rawValue), ("trigger", trigger == .periodic ? "periodic" : "request")])
            } catch {
                logger.warning("retention could not remove \(f.name): \(error)")
            }
        }
        let bytes = removed.reduce(0) { $0 + $1.size }
        return CleanupReport(executed: true, files: removed.map { $0.media(inUse: false) }, bytesFreed: bytes,
                             message: "\(removed.count) files (\(bytes) bytes) removed")
    }

    // MARK: Probing

    /// Files waiting for a probe (not those being written, nor those in `excluding`), with their paths.
    public func unprobed(limit: Int, excluding: Set<FileKey> = []) throws -> [(StoredFile, String)] {
        let c = try db()
        var out: [(StoredFile, String)] = []
        for kind in [MediaKind.recordings, .snapshots] where out.count < limit {
            for f in try c.unprobed(kind, limit: limit + inUse.count + excluding.count)
            where !inUse.contains(f.key) && !excluding.contains(f.key) && out.count < limit {
                out.append((f, f.path(in: root(kind))))
            }
        }
        return out
    }

    /// What a probe found (nil: it failed; the file is not probed again until it changes).
    /// False when the file changed meanwhile (nothing recorded).
    @discardableResult
    public func probed(_ f: StoredFile, _ result: ProbeResult?) throws -> Bool {
        var format = f.format
        if format == "mp4", MediaStore.fragmented(f.path(in: root(f.kind)), size: f.size) == true { format = "fmp4" }
        let c = try db()
        try c.probed(f, format: format, duration: f.kind == .recordings ? result?.duration : nil, resolution: result?.resolution)
        return c.db.changes > 0
    }

    static func fragmented(_ path: String, size: Int) -> Bool? {
        let fd = Glibc.open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return MP4Boxes.isFragmented(size: size) { offset, count in
            var b = [UInt8](repeating: 0, count: count)
            let n = b.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, off_t(offset)) }
            return n > 0 ? Array(b.prefix(n)) : nil
        }
    }
}

/// A crossing of a threshold: the level before and after.
public typealias LevelChange = (from: StorageLevel, to: StorageLevel)

/// Why a download is refused.
public enum DownloadRefusal: Error, Sendable {
    case unsafe, notFound
}
