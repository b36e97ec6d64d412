import PluginAPI

/// The capabilities the loaded plugins provide, combined: camera sources are merged (every
/// source's cameras form one list), auth providers are chained (the first that accepts a
/// credential wins), and media backend, capture engine and storage provider are single.
package struct Capabilities: Sendable {
    package var cameraSources: [(plugin: String, source: any CameraSource)] = []
    package var authProviders: [(plugin: String, provider: any AuthProvider)] = []
    package var mediaBackend: (plugin: String, backend: any MediaBackend)?
    package var captureEngine: (plugin: String, engine: any CaptureEngine)?
    package var storageProvider: (plugin: String, provider: any StorageProvider)?

    package init() {}

    /// Adds what one plugin provides; a second provider of a single capability is refused.
    mutating func add(_ c: PluginCapabilities, from plugin: String) throws(CapabilityConflict) {
        if let m = c.mediaBackend {
            if let existing = mediaBackend { throw CapabilityConflict(kind: "media_backend", first: existing.plugin, second: plugin) }
            mediaBackend = (plugin, m)
        }
        if let e = c.captureEngine {
            if let existing = captureEngine { throw CapabilityConflict(kind: "capture_engine", first: existing.plugin, second: plugin) }
            captureEngine = (plugin, e)
        }
        if let s = c.storageProvider {
            if let existing = storageProvider { throw CapabilityConflict(kind: "storage_provider", first: existing.plugin, second: plugin) }
            storageProvider = (plugin, s)
        }
        for s in c.cameraSources { cameraSources.append((plugin, s)) }
        if let a = c.authProvider { authProviders.append((plugin, a)) }
    }
}

/// Two plugins offer a capability only one may provide.
package struct CapabilityConflict: Error, Sendable, CustomStringConvertible {
    package let kind: String
    package let first: String
    package let second: String
    package var description: String {
        "plugins '\(first)' and '\(second)' both provide \(kind); only one may be enabled"
    }
}
