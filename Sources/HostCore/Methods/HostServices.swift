import PluginAPI
import Synchronization

/// Everything the host's own methods and endpoints need, in one place.
public final class HostServices: Sendable {
    public let config: ServiceConfig
    public let methods: MethodTable
    public let sessions: SessionRegistry
    public let events: EventBus
    public let plugins: PluginHost
    public let cameras: CameraDirectory
    public let logger: Logger
    public let metrics: Metrics
    public let startedAt: Double
    public let startedMonotonic: Double
    private let ready = Atomic<Bool>(false)
    private let port = Atomic<Int>(0)

    init(config: ServiceConfig, methods: MethodTable, sessions: SessionRegistry, events: EventBus, plugins: PluginHost,
         cameras: CameraDirectory, metrics: Metrics, logger: Logger) {
        self.config = config
        self.methods = methods
        self.sessions = sessions
        self.events = events
        self.plugins = plugins
        self.cameras = cameras
        self.metrics = metrics
        self.logger = logger
        startedAt = Clock.now()
        startedMonotonic = Clock.monotonic()
    }

    public var uptime: Double { Clock.monotonic() - startedMonotonic }

    /// Whether the server accepts connections (false while starting and shutting down).
    public var isReady: Bool { ready.load(ordering: .relaxed) }
    public var listeningPort: Int { port.load(ordering: .relaxed) }

    func setReady(_ value: Bool, port listening: Int) {
        port.store(listening, ordering: .relaxed)
        ready.store(value, ordering: .relaxed)
    }
    public var capabilities: Capabilities { plugins.capabilities }

    /// The auth chain as a verifier: the first provider that accepts the credential wins; the
    /// last rejection is reported. Nil when no auth provider is loaded.
    public func credentialVerifier() -> CredentialVerifier? {
        let providers = capabilities.authProviders.map(\.provider)
        guard !providers.isEmpty else { return nil }
        return { token, type in
            var lastError: any Error = RPCError.authenticationRequired(reason: "auth_failed")
            for p in providers {
                do { return try await p.authenticate(token: token, type: type) } catch { lastError = error }
            }
            throw lastError
        }
    }

    /// The stream URLs for a camera, when a media backend is loaded.
    public func streamURLs(_ device: String) -> StreamURLs? { capabilities.mediaBackend?.backend.streamURLs(for: device) }
}

/// The device parameter as the contract defines it.
enum DeviceParam {
    static let pattern = "^[a-z][a-z0-9_]{0,63}$"
    static let descriptor = ParamDescriptor("device", .string(pattern: pattern), required: true, summary: "camera id, e.g. camera0")
}

/// Which capability a method needs, for `-32030` when no plugin provides it.
enum Feature {
    static func unsupported(_ feature: String, plugin: String) -> RPCError {
        .unsupported(feature: feature, detail: "no enabled plugin provides \(feature) (e.g. \(plugin)); enable one in plugins.yaml")
    }
}
