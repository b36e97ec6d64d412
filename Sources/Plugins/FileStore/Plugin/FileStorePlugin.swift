import FileStoreCore
import PluginAPI

@_cdecl("swiftplugin_api_version") public func swiftpluginAPIVersion() -> UInt32 { pluginAPIVersion }
@_cdecl("swiftplugin_create") public func swiftpluginCreate() -> UnsafeMutableRawPointer { exportPlugin(FileStorePlugin()) }

/// Media files on disk (FileStoreCore does the work): one directory per kind and camera, a
/// SQLite catalogue kept in step with them, space thresholds, retention, and downloads under
/// `/files/` with Range. Config keys: docs/configuration.md (`recordings_dir`, `snapshots_dir`,
/// `catalog`, thresholds, intervals, `retention`).
final class FileStorePlugin: Plugin {
    let info = PluginInfo(name: "file_store", version: "1.0.0", summary: "media files on disk: catalogue, retention, space limits, downloads")

    func check(_ context: any PluginContext) async throws { _ = try FileStorePlugin.settings(context) }

    static func settings(_ context: any PluginContext) throws -> FileStoreSettings {
        try FileStoreSettings(context.config, resolve: { context.resolvePath($0) }, data: { context.dataPath($0) })
    }

    func activate(_ context: any PluginContext) async throws -> PluginCapabilities {
        let settings = try FileStorePlugin.settings(context)
        let fake = context.environment(StorageMeter.fakeUsageVariable)
        if let fake, !fake.isEmpty {
            context.logger.warning("test hook \(StorageMeter.fakeUsageVariable)=\(fake): the measured storage usage is replaced")
        }
        let store = FileStore(settings: settings, logger: context.logger, processes: context.processes, fakeUsage: fake)
        let route = DownloadRoute(store: store.store)
        try context.http.route(prefix: DownloadRoute.prefix, minimumRole: .viewer, summary: "recordings and snapshots (GET/HEAD, single Range)") { request in
            await route.handle(request)
        }
        context.logger.info("recordings in \(settings.recordingsDir), snapshots in \(settings.snapshotsDir), catalogue \(settings.catalogPath)")
        return PluginCapabilities(storageProvider: store)
    }

    func shutdown() async {}
}
