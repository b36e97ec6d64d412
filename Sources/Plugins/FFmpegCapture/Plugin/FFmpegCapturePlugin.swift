import FFmpegCaptureCore
import PluginAPI

@_cdecl("swiftplugin_api_version") public func swiftpluginAPIVersion() -> UInt32 { pluginAPIVersion }
@_cdecl("swiftplugin_create") public func swiftpluginCreate() -> UnsafeMutableRawPointer { exportPlugin(FFmpegCapturePlugin()) }

/// Snapshots in tiers (stream, stream started on demand, direct) with a frame cache, and
/// segmented recordings that survive faults, all with supervised FFmpeg processes
/// (FFmpegCaptureCore does the work). Config keys: docs/configuration.md.
final class FFmpegCapturePlugin: Plugin {
    let info = PluginInfo(name: "ffmpeg_capture", version: "1.0.0", summary: "tiered snapshots and segmented recordings with FFmpeg")

    func check(_ context: any PluginContext) async throws { _ = try CaptureSettings(context.config) }

    func activate(_ context: any PluginContext) async throws -> PluginCapabilities {
        let settings = try CaptureSettings(context.config)
        context.logger.info("snapshots: cache \(settings.cacheEnabled ? "on (\(settings.cacheFPS) fps)" : "off"), at most \(settings.maxConcurrentSnapshots) at once; "
                            + "recordings: \(settings.defaultFormat.rawValue), \(Int(settings.segmentDuration)) s segments")
        return PluginCapabilities(captureEngine: FFmpegCaptureEngine(settings: settings, processes: context.processes, logger: context.logger))
    }

    func shutdown() async {}
}
