import PluginAPI
import V4L2SourceCore

@_cdecl("swiftplugin_api_version") public func swiftpluginAPIVersion() -> UInt32 { pluginAPIVersion }
@_cdecl("swiftplugin_create") public func swiftpluginCreate() -> UnsafeMutableRawPointer { exportPlugin(V4L2SourcePlugin()) }

/// V4L2 cameras: probes `video<N>` nodes with the kernel's V4L2 ioctls and follows hot-plug
/// through udev, inotify or rescans (V4L2SourceCore does the work).
///
/// Config: `devices_dir` (default `/dev`), `device_range` (`"0-63"`), `probe_timeout` (s, 2),
/// `discovery` (`auto|udev|inotify|poll`), `rescan_interval` (s, 10).
final class V4L2SourcePlugin: Plugin {
    let info = PluginInfo(name: "v4l2_source", version: "1.0.0", summary: "V4L2 cameras with udev/inotify hot-plug")

    func check(_ context: any PluginContext) async throws { _ = try V4L2SourcePlugin.settings(context) }

    func activate(_ context: any PluginContext) async throws -> PluginCapabilities {
        PluginCapabilities(cameraSources: [V4L2CameraSource(settings: try V4L2SourcePlugin.settings(context), logger: context.logger)])
    }

    static func settings(_ context: any PluginContext) throws -> V4L2Settings {
        let c = context.config
        try c.rejectUnknownKeys(allowed: ["devices_dir", "device_range", "probe_timeout", "discovery", "rescan_interval"])
        var s = V4L2Settings()
        s.devicesDir = context.resolvePath(try c.configString("devices_dir", default: "/dev"))
        let range = try c.configString("device_range", default: "0-63")
        let bounds = range.split(separator: "-").compactMap { Int($0) }
        guard bounds.count == 2, bounds[0] >= 0, bounds[0] <= bounds[1], bounds[1] < 100_000 else {
            throw PluginConfigError(key: "device_range", problem: "expected FIRST-LAST such as 0-63, got '\(range)'")
        }
        s.deviceRange = bounds[0]...bounds[1]
        s.probeTimeout = try c.configSeconds("probe_timeout", default: 2, range: 0.05...60)
        let mode = try c.configString("discovery", default: "auto")
        guard let discovery = V4L2Settings.Discovery(rawValue: mode) else {
            throw PluginConfigError(key: "discovery", problem: "expected auto, udev, inotify or poll, got '\(mode)'")
        }
        s.discovery = discovery
        s.rescanInterval = try c.configSeconds("rescan_interval", default: 10, range: 0.1...3600)
        return s
    }

    func shutdown() async {}
}
