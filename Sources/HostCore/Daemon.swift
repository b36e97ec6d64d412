import Glibc
import PluginAPI

/// Start-up and shutdown: config → logging → plugins → methods → server → signals.
public enum Daemon {
    /// Exit codes: 0 clean shutdown, 1 runtime failure (e.g. the port is taken), 2 bad
    /// configuration or a required plugin failed.
    public enum ExitCode: Int32 {
        case ok = 0, failure = 1, config = 2
    }

    /// Loads the config and the plugins file, or says exactly what is wrong.
    public static func loadConfig(path: String?, env: [String: String]) -> Result<(ServiceConfig, [PluginEntry], String), ConfigError> {
        do throws(ConfigError) {
            let file = ConfigLoader.locate(explicit: path)
            let config = try ConfigLoader.load(path: file, environment: env)
            let pluginsPath = FileIO.resolve(config.plugins.file, against: file.map(FileIO.dirname) ?? ".")
            let entries = FileIO.exists(pluginsPath) || config.plugins.file != "plugins.yaml"
                ? try PluginsFile.load(path: pluginsPath) : []
            return .success((config, entries, pluginsPath))
        } catch {
            return .failure(error)
        }
    }

    /// Directories searched for bare plugin library names: configured ones first, then the
    /// executable's own directory.
    static func pluginDirs(_ config: ServiceConfig, baseDir: String) -> [String] {
        config.plugins.dirs.map { FileIO.resolve($0, against: baseDir) } + [FileIO.executableDirectory()]
    }

    /// `--check-config`: validates both files and that every enabled plugin library loads and
    /// passes the checks (without activating it). Prints one line per finding.
    public static func checkConfig(path: String?, env: [String: String]) -> ExitCode {
        switch loadConfig(path: path, env: env) {
        case .failure(let e):
            print("config error: \(e)")
            return .config
        case .success(let (config, entries, pluginsPath)):
            print("config OK: \(config.sourceFile ?? "(defaults)"); plugins file: \(pluginsPath) (\(entries.count) entries)")
            var ok = true
            let baseDir = FileIO.dirname(pluginsPath)
            for e in entries {
                guard e.enabled else { print("plugin \(e.name): disabled"); continue }
                do {
                    let path = try PluginLoader.resolve(e.library, dirs: pluginDirs(config, baseDir: baseDir), baseDir: baseDir)
                    let lib = try PluginLoader.load(path: path)
                    print("plugin \(e.name): OK (\(path), v\(lib.plugin.info.version))")
                } catch {
                    print("plugin \(e.name): \(e.required ? "ERROR" : "WARNING"): \(error)")
                    if e.required { ok = false }
                }
            }
            return ok ? .ok : .config
        }
    }

    /// `camera-service <command> …`: runs a command an enabled plugin offers (e.g. `keys`,
    /// `token` from jwt_auth) with that plugin's configuration, without starting the daemon.
    public static func runCommand(_ name: String, arguments: [String], configPath: String?, env: [String: String]) async -> Int32 {
        let loaded: (ServiceConfig, [PluginEntry], String)
        switch loadConfig(path: configPath, env: env) {
        case .failure(let e):
            printError("config error: \(e)")
            return ExitCode.config.rawValue
        case .success(let v): loaded = v
        }
        let (config, entries, pluginsPath) = loaded
        let baseDir = FileIO.dirname(pluginsPath)
        let sink = LogSink(level: .warning, format: "text")
        var offered: [String] = []
        for entry in entries where entry.enabled {
            guard let path = try? PluginLoader.resolve(entry.library, dirs: pluginDirs(config, baseDir: baseDir), baseDir: baseDir),
                  let lib = try? PluginLoader.load(path: path) else { continue }
            let commands = lib.plugin.commands()
            offered += commands.map(\.name)
            guard let command = commands.first(where: { $0.name == name }) else { continue }
            if arguments.first == "--help" || arguments.first == "-h" {
                print(command.usage)
                return 0
            }
            let context = HostPluginContext(pluginName: entry.name, config: entry.config, logger: Logger(label: entry.name, handler: sink),
                                            events: EventBus(sessions: SessionRegistry()), methods: MethodTable().stagedRegistry(owner: entry.name),
                                            mode: config.mode, env: env, baseDirectory: baseDir)
            do { return try await command.run(arguments, context) } catch {
                printError("\(name): \(error)")
                return ExitCode.failure.rawValue
            }
        }
        printError("unknown command '\(name)'" + (offered.isEmpty ? " (no enabled plugin offers commands)" : "; enabled plugins offer: \(offered.joined(separator: ", "))"))
        return ExitCode.config.rawValue
    }

    /// Runs the daemon until SIGINT/SIGTERM; returns the process exit code.
    public static func run(configPath: String?, env: [String: String], onListening: (@Sendable (Int) -> Void)? = nil) async -> ExitCode {

        let loaded: (ServiceConfig, [PluginEntry], String)
        switch loadConfig(path: configPath, env: env) {
        case .failure(let e):
            LogSink(level: .info, format: "json").log(level: .critical, label: "host", message: "config error: \(e)", metadata: [])
            return .config
        case .success(let v): loaded = v
        }
        let (config, entries, pluginsPath) = loaded
        let sink = LogSink(level: config.logging.level, format: config.logging.format)
        let logger = Logger(label: "host", handler: sink)
        logger.info("\(BuildInfo.name) \(BuildInfo.version) starting (config: \(config.sourceFile ?? "defaults"), plugins: \(pluginsPath), mode: \(config.mode.rawValue))")
        let (before, after) = Sockets.raiseFileLimit()
        if after > before { logger.info("raised the open-files limit from \(before) to \(after)") } else {
            logger.info("open-files limit: \(after)")
        }

        let methods = MethodTable()
        let sessions = SessionRegistry(limits: config.security.rateLimit)
        let events = EventBus(sessions: sessions)
        let plugins = PluginHost()
        let cameras = CameraDirectory(events: events, logger: logger)
        let metrics = Metrics()
        let services = HostServices(config: config, methods: methods, sessions: sessions, events: events, plugins: plugins,
                                    cameras: cameras, metrics: metrics, logger: logger)
        do {
            // The core's methods first: a plugin that claims one of their names fails, not the core.
            try CoreMethods.register(methods.registry(owner: "core"), services)
        } catch {
            logger.critical("start-up stopped: \(error)")
            return .config
        }
        let baseDir = FileIO.dirname(pluginsPath)
        do {
            try await plugins.loadAll(entries, dirs: pluginDirs(config, baseDir: baseDir), baseDir: baseDir, logger: logger, makeContext: { entry, registry in
                HostPluginContext(pluginName: entry.name, config: entry.config, logger: Logger(label: entry.name, handler: sink),
                                  events: events, methods: registry, mode: config.mode, env: env, baseDirectory: baseDir)
            }, methods: methods)
        } catch {
            logger.critical("start-up stopped: \(error)")
            return .config
        }
        let caps = plugins.capabilities
        await cameras.start(caps.cameraSources, streamURLs: { services.streamURLs($0) })

        let router = HTTPRouter()
        HealthRoutes.register(router, services)
        ObservabilityMethods.routes(router, services)
        let dispatcher = RPCDispatcher(methods: methods, sessions: sessions, logger: Logger(label: "rpc", handler: sink), observer: metrics,
                                       verifier: { services.credentialVerifier() })
        let server: WebServer
        do {
            server = try WebServer(settings: NetworkSettings(config), dispatcher: dispatcher, router: router,
                                   observer: HostConnectionObserver(sessions: sessions, events: events, metrics: metrics),
                                   logger: Logger(label: "net", handler: sink))
        } catch let error as TLSConfigError {
            logger.critical("start-up stopped: \(error)")
            await plugins.shutdownAll()
            return .config
        } catch {
            logger.critical("cannot listen on \(config.server.host):\(config.server.port): \(error)")
            await plugins.shutdownAll()
            return .failure
        }
        events.attach(server.handle)
        startSignalWatcher(server.handle, logger: logger)
        services.setReady(true, port: server.port)
        let scheme = config.server.tlsCertFile == nil ? "ws/http" : "wss/https (TLS)"
        logger.info("listening on \(config.server.host):\(server.port) (\(scheme), WebSocket path \(config.server.websocketPath)); \(methods.all().count) methods registered")
        events.publish(Event(topic: EventTopic.systemStartup, params: ["version": .string(BuildInfo.version)]))
        onListening?(server.port)
        await server.run()
        services.setReady(false, port: server.port)
        for (_, source) in caps.cameraSources { await source.stop() }
        await plugins.shutdownAll()
        logger.info("stopped")
        return .ok
    }

    /// Routes SIGINT/SIGTERM to a pipe: the handler only writes the signal number (async-signal
    /// safe) whichever thread the kernel picks; the watcher thread reads it and asks the server
    /// to shut down. Also ignores SIGPIPE (writes to closed sockets are errors, not deaths).
    public static func installSignalHandlers() {
        signal(SIGPIPE, SIG_IGN)
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        signalPipe = (fds[0], fds[1])
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { sig in
            var byte = UInt8(truncatingIfNeeded: sig)
            _ = write(signalPipe.write, &byte, 1)
        }
        action.sa_flags = SA_RESTART
        sigaction(SIGINT, &action, nil)
        sigaction(SIGTERM, &action, nil)
    }

    static func startSignalWatcher(_ handle: LoopHandle, logger: Logger) {
        let readFD = signalPipe.read
        guard readFD >= 0 else { return }
        startThread {
            var byte: UInt8 = 0
            while true {
                let n = read(readFD, &byte, 1)
                if n < 0 && errno == EINTR { continue }
                guard n == 1 else { return }
                logger.info("received \(Int32(byte) == SIGINT ? "SIGINT" : "SIGTERM"); shutting down")
                handle.requestShutdown()
            }
        }
    }
}

// nonisolated(unsafe): written once by installSignalHandlers() before any handler can run and
// before other threads start; afterwards only read (by the handler and the watcher).
nonisolated(unsafe) private var signalPipe: (read: Int32, write: Int32) = (-1, -1)

/// Writes a line to standard error.
public func printError(_ s: String) {
    let bytes = Array((s + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
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
    func upgraded(_ ref: ConnectionRef) {}
    func closed(_ ref: ConnectionRef) {
        sessions.close(ref.id)
        events.connectionClosed(ref.id)
        metrics.connectionClosed()
    }
    func rejected(reason: String) { metrics.connectionRejected(reason) }
    func notificationDropped() { metrics.eventDropped() }
}
