// A storage provider for testing the capture engine before and apart from FileStore: files go
// to `<config.root>/<kind>/<device>/`; what the host tells it (files being written, files
// complete) is kept for tests; a test sets the storage level to drive `-32060` and
// `storage.warning`.
//   <name>.notes                 every fileStarted/fileFinished, in order
//   <name>.set_level {level, usage}   "normal" | "warning" | "critical"
import Glibc
import PluginAPI
import Synchronization

@_cdecl("swiftplugin_api_version") public func apiVersion() -> UInt32 { pluginAPIVersion }
@_cdecl("swiftplugin_create") public func create() -> UnsafeMutableRawPointer { exportPlugin(DirStoragePlugin()) }

final class DirStoragePlugin: Plugin {
    let info = PluginInfo(name: "fixture_storage", version: "0", summary: "test fixture: a directory store")

    func activate(_ context: any PluginContext) async throws -> PluginCapabilities {
        let root = context.resolvePath(try context.config.configString("root", default: "store"))
        let store = DirStore(root: root)
        let name = context.pluginName
        try context.methods.registerInline(MethodDescriptor("\(name).notes", role: .viewer)) { _ in
            .array(store.notes.withLock { $0 }.map { .object(["event": .string($0.0), "path": .string($0.1)]) })
        }
        try context.methods.registerInline(MethodDescriptor("\(name).set_level", role: .operator, params: [
            ParamDescriptor("level", .enumeration(["normal", "warning", "critical"]), required: true),
            ParamDescriptor("usage", .number(minimum: 0, maximum: 100)),
        ])) { call in
            store.set(StorageLevel(rawValue: call.params.string("level") ?? "") ?? .normal, usage: call.params.double("usage") ?? 50)
            return true
        }
        return PluginCapabilities(storageProvider: store)
    }

    func shutdown() async {}
}

final class DirStore: StorageProvider {
    let root: String
    let notes = Mutex<[(String, String)]>([])
    private let level = Mutex((StorageLevel.normal, 50.0, (any StorageEventSink)?.none))

    init(root: String) { self.root = root }

    func set(_ new: StorageLevel, usage: Double) {
        let (old, sink) = level.withLock { l -> (StorageLevel, (any StorageEventSink)?) in
            let old = l.0
            l.0 = new
            l.1 = usage
            return (old, l.2)
        }
        if old != new { sink?.storageLevelChanged(info(new, usage), from: old) }
    }

    func info(_ l: StorageLevel, _ usage: Double) -> StorageInfo {
        StorageInfo(totalBytes: 100, usedBytes: Int(usage), availableBytes: 100 - Int(usage), usagePercent: usage, recordingsBytes: 0,
                    snapshotsBytes: 0, warnPercent: 80, blockPercent: 90, level: l)
    }

    func start(_ sink: any StorageEventSink) async throws { level.withLock { $0.2 = sink } }
    func stop() async {}

    func directory(for kind: MediaKind, device: String) async throws -> String {
        let (l, usage, _) = level.withLock { $0 }
        if l == .critical { throw RPCError.insufficientStorage(usagePercentage: usage) }
        let dir = "\(root)/\(kind.rawValue)/\(device)"
        var path = ""
        for part in dir.split(separator: "/") {
            path += "/" + part
            mkdir(path, 0o755)
        }
        return dir
    }

    func fileStarted(_ kind: MediaKind, path: String) async { notes.withLock { $0.append(("started", path)) } }
    func fileFinished(_ kind: MediaKind, path: String) async { notes.withLock { $0.append(("finished", path)) } }

    func list(_ kind: MediaKind, device: String?, limit: Int, offset: Int) async throws -> MediaPage { MediaPage(files: [], total: 0) }
    func info(_ kind: MediaKind, filename: String) async throws -> MediaFile { throw RPCError.notFound(resource: "file", id: filename) }
    func delete(_ kind: MediaKind, filename: String) async throws { throw RPCError.notFound(resource: "file", id: filename) }
    func storageInfo() async throws -> StorageInfo { let (l, u, _) = level.withLock { $0 }; return info(l, u) }
    func retentionPolicy() async throws -> RetentionPolicy { RetentionPolicy(type: .manual, enabled: false, maxAgeDays: nil, maxSizeGB: nil) }
    func setRetentionPolicy(_ policy: RetentionPolicy) async throws -> RetentionPolicy { policy }
    func cleanup(dryRun: Bool) async throws -> CleanupReport { CleanupReport(executed: !dryRun, files: [], bytesFreed: 0, message: "nothing") }
}
