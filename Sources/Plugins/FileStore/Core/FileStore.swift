import Codecs
import PluginAPI
import Synchronization

/// The ``StorageProvider``: media files under one directory per kind and camera, catalogued in
/// SQLite (``MediaStore``), kept in step with the directories by inotify (``DirectoryWatcher``)
/// and periodic rescans, probed in the background (``Prober``), measured against the warn and
/// block thresholds, and trimmed by the retention policy on a timer.
public final class FileStore: StorageProvider {
    public let store: MediaStore
    let settings: FileStoreSettings
    let logger: Logger
    let prober: Prober?

    private struct State {
        var sink: (any StorageEventSink)?
        var tasks: [Task<Void, Never>] = []
        var watcher: DirectoryWatcher?
        var changes: AsyncStream<[DirectoryWatcher.Change]>.Continuation?
        var probing = false
        var probeAgain = false
        var stopped = false
    }
    private let state = Mutex(State())

    public init(settings: FileStoreSettings, logger: Logger, processes: ProcessLauncher, fakeUsage: String?) {
        self.settings = settings
        self.logger = logger
        store = MediaStore(settings: settings, logger: logger, fakeUsage: fakeUsage)
        prober = settings.probe ? Prober(launcher: processes, executable: settings.ffprobe, timeout: settings.probeTimeout, logger: logger) : nil
    }

    public func start(_ sink: any StorageEventSink) async throws {
        state.withLock { $0.sink = sink }  // before anything measures: no crossing goes unreported
        try await store.open()
        let roots = await store.roots
        let (stream, continuation) = AsyncStream.makeStream(of: [DirectoryWatcher.Change].self)
        let watcher = DirectoryWatcher(roots: [(.recordings, roots[.recordings] ?? settings.recordingsDir), (.snapshots, roots[.snapshots] ?? settings.snapshotsDir)],
                                       debounce: settings.debounce) { continuation.yield($0) }
        if watcher == nil { logger.warning("inotify is not available: changes made by hand are seen at the next rescan (every \(Int(settings.rescanInterval)) s)") }
        let store = self.store, logger = self.logger, s = settings
        var tasks: [Task<Void, Never>] = []
        // Changes in the directories, applied in the order seen.
        tasks.append(Task { [weak self] in
            for await changes in stream {
                do {
                    if try await store.apply(changes) { watcher?.watchAll() }
                } catch {
                    logger.warning("catalogue update failed: \(error)")
                }
                self?.probeSoon()
            }
        })
        tasks.append(FileStore.every(s.checkInterval) { [weak self] in await self?.checkLevel() })
        tasks.append(FileStore.every(s.rescanInterval) { [weak self] in
            do {
                if try await store.reopenIfGone() == false {
                    let c = try await store.rescanByCamera()
                    if c != MediaStore.Counts() { logger.info("rescan: \(c.added) added, \(c.changed) changed, \(c.removed) removed") }
                }
                watcher?.watchAll()
            } catch {
                logger.warning("rescan failed: \(error)")
            }
            self?.probeSoon()
        })
        // Retention once at start (a store over its limits after a restart is trimmed at once), then periodically.
        tasks.append(FileStore.every(s.retentionInterval, immediately: true) { [weak self] in await self?.applyRetention() })
        state.withLock {
            $0.tasks = tasks
            $0.watcher = watcher
            $0.changes = continuation
        }
        await checkLevel()
        probeSoon()
    }

    /// A task running `body` every `seconds` (first `immediately`, or after one interval), until cancelled.
    static func every(_ seconds: Double, immediately: Bool = false, _ body: @escaping @Sendable () async -> Void) -> Task<Void, Never> {
        Task {
            if immediately { await body() }
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(seconds))
                if Task.isCancelled { return }
                await body()
            }
        }
    }

    func report(_ info: StorageInfo, _ change: LevelChange?) {
        guard let change, let sink = state.withLock({ $0.sink }) else { return }
        logger.log(change.to == .normal ? .info : .warning,
                   "storage \(change.from) → \(change.to): \((info.usagePercent * 10).rounded() / 10) % used (warn \(info.warnPercent) %, block \(info.blockPercent) %)",
                   [("level", change.to.rawValue)])
        sink.storageLevelChanged(info, from: change.from)
    }

    func checkLevel() async {
        let (info, change) = await store.measure()
        report(info, change)
    }

    func applyRetention() async {
        do {
            let r = try await store.cleanup(.periodic, dryRun: false, now: Timestamp.now())
            if !r.files.isEmpty { logger.notice("retention: \(r.message)") }
        } catch {
            logger.warning("retention failed: \(error)")
        }
        await checkLevel()
    }

    /// Probes what is waiting, one file at a time, in the background.
    func probeSoon() {
        guard let prober else { return }
        let begin = state.withLock { s -> Bool in
            guard !s.stopped else { return false }
            if s.probing {
                s.probeAgain = true
                return false
            }
            s.probing = true
            return true
        }
        guard begin else { return }
        let store = self.store, logger = self.logger
        Task { [weak self] in
            // A file that changed while it was probed is probed again at the next change, not in a loop.
            var tried = Set<FileKey>()
            while true {
                let batch = (try? await store.unprobed(limit: 16, excluding: tried)) ?? []
                if batch.isEmpty {
                    let again = self?.state.withLock { s -> Bool in
                        if s.probeAgain && !s.stopped {
                            s.probeAgain = false
                            return true
                        }
                        s.probing = false
                        return false
                    } ?? false
                    if again {
                        tried = []
                        continue
                    }
                    return
                }
                for (file, path) in batch {
                    if self?.state.withLock({ $0.stopped }) != false { return }
                    let result = await prober.probe(path)
                    do {
                        if try await store.probed(file, result) == false { tried.insert(file.key) }
                    } catch {
                        logger.warning("catalogue: \(error)")
                        tried.insert(file.key)
                    }
                }
            }
        }
    }

    // MARK: StorageProvider

    public func directory(for kind: MediaKind, device: String) async throws -> String {
        let (info, change) = await store.measure()
        report(info, change)  // a crossing found here is announced even when the answer is -32060
        let path = try await store.directory(kind, device: device, measured: info)
        state.withLock { $0.watcher }?.watchCamera(kind, device)
        return path
    }

    public func fileStarted(_ kind: MediaKind, path: String) async { await store.started(kind, path: path) }

    public func fileFinished(_ kind: MediaKind, path: String) async {
        await store.finished(kind, path: path)
        await checkLevel()
        probeSoon()
    }

    public func list(_ kind: MediaKind, device: String?, limit: Int, offset: Int) async throws -> MediaPage {
        try await store.list(kind, device: device, limit: limit, offset: offset)
    }

    public func info(_ kind: MediaKind, filename: String) async throws -> MediaFile { try await store.info(kind, name: filename) }

    public func delete(_ kind: MediaKind, filename: String) async throws {
        try await store.delete(kind, name: filename)
        await checkLevel()
    }

    public func storageInfo() async throws -> StorageInfo {
        let (info, change) = await store.measure()
        report(info, change)
        return info
    }

    public func retentionPolicy() async throws -> RetentionPolicy { await store.retentionPolicy() }

    public func setRetentionPolicy(_ policy: RetentionPolicy) async throws -> RetentionPolicy {
        try await store.setRetentionPolicy(policy)
    }

    public func cleanup(dryRun: Bool) async throws -> CleanupReport {
        let report = try await store.cleanup(.request, dryRun: dryRun, now: Timestamp.now())
        if !dryRun { await checkLevel() }
        return report
    }

    public func stop() async {
        let (tasks, watcher, changes) = state.withLock { s in
            s.stopped = true
            defer { s.tasks = []; s.watcher = nil; s.changes = nil }
            return (s.tasks, s.watcher, s.changes)
        }
        for t in tasks { t.cancel() }
        watcher?.stop()
        changes?.finish()
    }
}
