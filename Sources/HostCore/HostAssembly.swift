import PluginAPI
import Synchronization

/// The daemon's parts and how they are wired: each method family and route gets only what it
/// uses. Built by ``Daemon/run(configPath:env:onListening:)``.
final class HostAssembly: Sendable {
    let config: ServiceConfig
    let sink: LogSink
    let logger: Logger
    let env: [String: String]
    let baseDir: String
    let methods = MethodTable()
    let sessions: SessionRegistry
    let events: EventBus
    let plugins = PluginHost()
    let metrics = Metrics()
    let router = HTTPRouter()
    let serverState: ServerState
    let cameras: CameraDirectory
    let authenticator: Authenticator
    let health: HealthRegistry
    let coordinator: MediaCoordinator
    private let shuttingDown = Atomic<Bool>(false)

    init(config: ServiceConfig, sink: LogSink, env: [String: String], baseDir: String) {
        self.config = config
        self.sink = sink
        self.env = env
        self.baseDir = baseDir
        logger = Logger(label: "host", handler: sink)
        sessions = SessionRegistry(limits: config.security.rateLimit)
        events = EventBus(sessions: sessions)
        serverState = ServerState(host: config.server.host)
        let plugins = self.plugins
        let access = CapabilityAccess(plugins: plugins)
        cameras = CameraDirectory(events: events, logger: logger, streamURLs: { device in
            access.current.mediaBackend?.backend.streamURLs(for: device, clientHost: nil)
        })
        authenticator = Authenticator(providers: { plugins.capabilities.authProviders.map(\.provider) },
                                      failuresBeforeBackoff: config.security.rateLimit.authFailuresBeforeBackoff,
                                      logger: Logger(label: "auth", handler: sink))
        let cameras = self.cameras, serverState = self.serverState, metrics = self.metrics
        health = HealthRegistry(host: { HostHealth.components(server: serverState, metrics: metrics, cameras: cameras) },
                                plugins: { plugins.statuses }, events: events, logger: logger)
        coordinator = MediaCoordinator(capabilities: { plugins.capabilities }, cameras: cameras, events: events,
                                       logger: Logger(label: "media", handler: sink))
    }

    var access: CapabilityAccess { CapabilityAccess(plugins: plugins) }

    func registerCoreMethods() throws {
        let r = methods.registry(owner: "core")
        try SystemMethods(authenticator: authenticator, sessions: sessions, plugins: plugins, cameras: cameras).register(r)
        try EventMethods(events: events, sessions: sessions).register(r)
        try CameraMethods(cameras: cameras, capabilities: access, activeRecording: { [coordinator] in coordinator.activeRecording(of: $0) }).register(r)
        try StreamingMethods(cameras: cameras, capabilities: access).register(r)
        try CaptureMethods(cameras: cameras, capabilities: access, events: events).register(r)
        try FileMethods(capabilities: access).register(r)
        let observability = ObservabilityMethods(metrics: metrics, health: health, plugins: plugins, cameras: cameras, methods: methods,
                                                 topics: events.topics, events: events, server: serverState)
        try observability.register(r)
        observability.routes(router)
        ConsoleRoutes(directory: config.server.consoleDir, websocketPath: config.server.websocketPath).register(router)
    }

    func loadPlugins(_ entries: [PluginEntry], dirs: [String]) async throws {
        let names = entries.map(\.name)
        try await plugins.loadAll(entries, dirs: dirs, baseDir: baseDir, logger: logger) { entry in
            let log = Logger(label: entry.name, handler: sink)
            let methods = self.methods.stagedRegistry(owner: "plugin \(entry.name)")
            let routes = PluginRouteRegistry(router: router, owner: entry.name)
            let publisher = PluginEventPublisher(bus: events, owner: entry.name, logger: log)
            let context = HostPluginContext(entry: entry, logger: log, events: publisher, methods: methods, http: routes,
                                            health: health.reporter(for: entry.name, pluginNames: { names }), mode: config.mode,
                                            env: env, baseDirectory: baseDir, dataDirectory: config.dataDir, demo: config.demo)
            return PluginServices(methods: methods, routes: routes, events: publisher, context: context)
        }
        // subscribe_events now lists the plugins' topics too.
        try EventMethods.updateTopics(methods, topics: events.topics.all.map(\.name))
    }

    /// Starts the single capabilities (their change channels lead to the coordinator), then
    /// the camera sources: each camera found is published by the media backend.
    func startCapabilities() async {
        let caps = plugins.capabilities
        if let (name, backend) = caps.mediaBackend {
            do { try await backend.start(coordinator) } catch { logger.error("media backend (plugin \(name)) failed to start: \(error)") }
        }
        if let (name, storage) = caps.storageProvider {
            do { try await storage.start(coordinator) } catch { logger.error("storage provider (plugin \(name)) failed to start: \(error)") }
        }
        if let (name, engine) = caps.captureEngine {
            do { try await engine.start(coordinator) } catch { logger.error("capture engine (plugin \(name)) failed to start: \(error)") }
        }
        let coordinator = self.coordinator, health = self.health
        cameras.onChange { camera, change in
            coordinator.cameraChanged(camera, change)
            health.reevaluate()
        }
        await cameras.start(caps.cameraSources)
    }

    func makeServer() throws -> WebServer {
        let dispatcher = RPCDispatcher(methods: methods, sessions: sessions, authenticator: authenticator,
                                       logger: Logger(label: "rpc", handler: sink), observer: metrics)
        let server = try WebServer(settings: NetworkSettings(config), dispatcher: dispatcher, router: router,
                                   authorizer: HTTPAuthorizer(authenticator: authenticator, logger: Logger(label: "auth", handler: sink)),
                                   observer: HostConnectionObserver(sessions: sessions, events: events, metrics: metrics),
                                   logger: Logger(label: "net", handler: sink))
        events.attach(server.handle)
        let handle = server.handle
        sessions.onAuthenticated { handle.post(.authenticated($0)) }
        return server
    }

    /// On SIGINT/SIGTERM: `system.shutdown` to subscribers, recordings ended cleanly (their
    /// events still reach clients), then the network drains and closes with 1001.
    func beginShutdown(_ handle: LoopHandle) {
        guard !shuttingDown.exchange(true, ordering: .relaxed) else { return }
        // Not ready from now on (/health/ready 503), though requests are still served while
        // the capture engine ends its recordings.
        serverState.setStopping()
        events.publish(Event(topic: EventTopic.systemShutdown, params: ["reason": "signal"]))
        let engine = plugins.capabilities.captureEngine?.engine
        let limit = config.server.shutdownTimeout
        Task {
            if let engine {
                await withTaskGroup(of: Void.self) { group in
                    group.addTask { await engine.stop() }
                    group.addTask { try? await Task.sleep(for: .seconds(max(limit, 1))) }
                    await group.next()
                    group.cancelAll()
                }
            }
            handle.requestShutdown()
        }
    }

    /// After the server stopped: capabilities, sources and plugins, then any child left.
    func stopCapabilities() async {
        let caps = plugins.capabilities
        await caps.captureEngine?.engine.stop()
        await caps.mediaBackend?.backend.stop()
        await caps.storageProvider?.provider.stop()
        for (_, source) in caps.cameraSources { await source.stop() }
        await plugins.shutdownAll()
        await ProcessLauncher.stopAll()
    }

    /// Re-checks health every few seconds (changes of state nobody reports, e.g. a camera
    /// source's counts), so `system.health` follows.
    func watchHealth() -> Task<Void, Never> {
        let health = self.health
        return Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(5))
                health.reevaluate()
            }
        }
    }
}

/// The host's own components.
enum HostHealth {
    static func components(server: ServerState, metrics: Metrics, cameras: CameraDirectory) -> [ComponentReport] {
        let now = HostClock.now()
        let ready = server.isReady
        var out = [ComponentReport(name: "websocket_server", status: ready ? .healthy : .unhealthy,
                                   message: ready ? "listening on \(server.host):\(server.listeningPort), \(metrics.activeConnections) connection(s)"
                                                  : "not accepting connections", lastChecked: now)]
        let sources = cameras.sources
        if sources.isEmpty {
            out.append(ComponentReport(name: "camera_monitor", status: .disabled, message: "no camera source plugin enabled", lastChecked: now))
        } else {
            let cams = cameras.list()
            let connected = cams.filter { $0.status == .connected }.count
            let errors = cams.filter { $0.status == .error }.count
            out.append(ComponentReport(name: "camera_monitor", status: errors > 0 ? .degraded : .healthy,
                                       message: "\(sources.count) source(s), \(cams.count) camera(s), \(connected) connected\(errors > 0 ? ", \(errors) in error" : "")",
                                       lastChecked: now))
        }
        return out
    }
}

/// Keeps sessions and subscriptions in step with connections.
struct HostConnectionObserver: ConnectionObserver {
    let sessions: SessionRegistry
    let events: EventBus
    let metrics: Metrics
    func opened(_ ref: ConnectionRef, remoteHost: String) {
        sessions.open(ref, remoteHost: remoteHost)
        metrics.connectionOpened()
    }
    func upgraded(_ ref: ConnectionRef, requestHost: String?) { sessions.setRequestHost(ref.id, requestHost) }
    func closed(_ ref: ConnectionRef) {
        sessions.close(ref.id)
        events.connectionClosed(ref.id)
        metrics.connectionClosed()
    }
    func rejected(reason: String) { metrics.connectionRejected(reason) }
    func notificationDropped() { metrics.eventDropped() }
}

/// Plugin contexts for `--check-config` and plugin commands: the daemon is not running, so
/// registrations go nowhere and nothing is served.
struct OfflineServices {
    let loaded: Daemon.Loaded
    let env: [String: String]
    let bus = EventBus(sessions: SessionRegistry())
    let sink = LogSink(level: .warning, format: "text")

    init(_ loaded: Daemon.Loaded, env: [String: String]) {
        self.loaded = loaded
        self.env = env
        try? FileIO.makeDirectories(loaded.config.dataDir, mode: 0o750)  // contexts promise it exists
    }

    func context(for entry: PluginEntry) -> HostPluginContext {
        let log = Logger(label: entry.name, handler: sink)
        let health = HealthRegistry(host: { [] }, plugins: { [] }, events: bus, logger: log)
        return HostPluginContext(entry: entry, logger: log, events: PluginEventPublisher(bus: bus, owner: entry.name, logger: log),
                                 methods: MethodTable().stagedRegistry(owner: entry.name), http: PluginRouteRegistry(router: HTTPRouter(), owner: entry.name),
                                 health: health.reporter(for: entry.name, pluginNames: { [] }), mode: loaded.config.mode, env: env,
                                 baseDirectory: loaded.baseDir, dataDirectory: loaded.config.dataDir, demo: loaded.config.demo)
    }
}
