import MediaMTXBackendCore
import PluginAPI

@_cdecl("swiftplugin_api_version") public func swiftpluginAPIVersion() -> UInt32 { pluginAPIVersion }
@_cdecl("swiftplugin_create") public func swiftpluginCreate() -> UnsafeMutableRawPointer { exportPlugin(MediaMTXBackendPlugin()) }

/// Publishes every camera through MediaMTX (RTSP, WebRTC, HLS): one path per camera whose
/// on-demand FFmpeg publisher is the camera's only reader (MediaMTXBackendCore does the work).
/// Config keys: docs/configuration.md (`api_url`, `public_host`, ports, timings, `encoding`).
final class MediaMTXBackendPlugin: Plugin {
    let info = PluginInfo(name: "mediamtx_backend", version: "1.0.0", summary: "publishes cameras through MediaMTX (RTSP/WebRTC/HLS)")

    func check(_ context: any PluginContext) async throws { _ = try MediaMTXSettings(context.config) }

    func activate(_ context: any PluginContext) async throws -> PluginCapabilities {
        let settings = try MediaMTXSettings(context.config)
        let topic = "\(context.pluginName).paths_restored"
        try context.events.declare(EventTopicDescriptor(topic, summary: "MediaMTX lost camera paths (it restarted, or they were removed) and they were added again",
                                                        visibleTo: .viewer))
        let events = context.events
        let backend = try MediaMTXBackend(settings: settings, logger: context.logger, health: context.health, processes: context.processes) { name, params in
            events.publish(Event(topic: "\(context.pluginName).\(name)", params: params))
        }
        context.logger.info("MediaMTX at \(settings.apiURL); streams on RTSP :\(settings.rtspPort), WebRTC :\(settings.webrtcPort), HLS :\(settings.hlsPort)"
                            + (settings.publicHost.map { " as \($0)" } ?? ""))
        return PluginCapabilities(mediaBackend: backend)
    }

    func shutdown() async {}
}
