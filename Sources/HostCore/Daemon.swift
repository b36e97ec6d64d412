import Glibc
import PluginAPI

/// Start-up and shutdown: config → logging → plugins → capabilities → cameras → server → signals.
package enum Daemon {
    /// Exit codes: 0 clean shutdown, 1 runtime failure (e.g. the port is taken), 2 bad
    /// configuration or a required plugin failed.
    package enum ExitCode: Int32 {
        case ok = 0, failure = 1, config = 2
    }

    /// The configuration and plugins file, or exactly what is wrong with them.
    struct Loaded {
        let config: ServiceConfig
        let entries: [PluginEntry]
        let pluginsPath: String
        var baseDir: String { FileIO.dirname(pluginsPath) }
        /// Directories searched for bare plugin library names: configured ones first, then
        /// the executable's own directory.
        var pluginDirs: [String] { config.plugins.dirs.map { FileIO.resolve($0, against: baseDir) } + [FileIO.executableDirectory()] }
    }

    static func load(path: String?, env: [String: String]) -> Result<Loaded, ConfigError> {
        do throws(ConfigError) {
            let file = ConfigLoader.locate(explicit: path)
            let config = try ConfigLoader.load(path: file, environment: env)
            let pluginsPath = FileIO.resolve(config.plugins.file, against: file.map(FileIO.dirname) ?? ".")
            let entries = FileIO.exists(pluginsPath) || config.plugins.file != "plugins.yaml"
                ? try PluginsFile.load(path: pluginsPath) : []
            return .success(Loaded(config: config, entries: entries, pluginsPath: pluginsPath))
        } catch {
            return .failure(error)
        }
    }

    /// `--check-config`: validates both files, then loads every enabled plugin library and
    /// runs its own configuration checks (without starting it), failing as start-up would: a
    /// required plugin's problem exits 2, an optional one's is a warning.
    package static func checkConfig(path: String?, env: [String: String]) async -> ExitCode {
        let loaded: Loaded
        switch load(path: path, env: env) {
        case .failure(let e):
            print("config error: \(e)")
            return .config
        case .success(let l): loaded = l
        }
        print("config OK: \(loaded.config.sourceFile ?? "(defaults)"); plugins file: \(loaded.pluginsPath) (\(loaded.entries.count) entries)")
        var ok = true
        let offline = OfflineServices(loaded, env: env)
        for e in loaded.entries {
            guard e.enabled else { print("plugin \(e.name): disabled"); continue }
            do {
                let path = try PluginLoader.resolve(e.library, dirs: loaded.pluginDirs, baseDir: loaded.baseDir)
                let lib = try PluginLoader.load(path: path)
                try await lib.plugin.check(offline.context(for: e))
                print("plugin \(e.name): OK (\(path), v\(lib.plugin.info.version))")
            } catch {
                print("plugin \(e.name): \(e.required ? "ERROR" : "WARNING"): \(error)")
                if e.required { ok = false }
            }
        }
        return ok ? .ok : .config
    }

    /// `camera-service <command> …`: runs a command an enabled plugin offers (e.g. `keys`,
    /// `token` from jwt_auth) with that plugin's configuration, without starting the daemon.
    /// With `help`, prints the command's usage instead.
    package static func runCommand(_ name: String, arguments: [String], help: Bool, configPath: String?, env: [String: String]) async -> Int32 {
        let loaded: Loaded
        switch load(path: configPath, env: env) {
        case .failure(let e):
            printError("config error: \(e)")
            return ExitCode.config.rawValue
        case .success(let l): loaded = l
        }
        let offline = OfflineServices(loaded, env: env)
        var offered: [String] = []
        for entry in loaded.entries where entry.enabled {
            guard let path = try? PluginLoader.resolve(entry.library, dirs: loaded.pluginDirs, baseDir: loaded.baseDir),
                  let lib = try? PluginLoader.load(path: path) else { continue }
            let commands = lib.plugin.commands()
            offered += commands.map(\.name)
            guard let command = commands.first(where: { $0.name == name }) else { continue }
            if help {
                print(command.usage)
                return 0
            }
            do { return try await command.run(arguments, offline.context(for: entry)) } catch {
                printError("\(name): \(error)")
                return ExitCode.failure.rawValue
            }
        }
        printError("unknown command '\(name)'" + (offered.isEmpty ? " (no enabled plugin offers commands)" : "; enabled plugins offer: \(offered.joined(separator: ", "))"))
        return ExitCode.config.rawValue
    }

    /// Runs the daemon until SIGINT/SIGTERM; returns the process exit code. `demo`: see
    /// ``DemoPreset``. Under systemd (`NOTIFY_SOCKET`) it reports readiness, stopping and
    /// feeds the watchdog.
    package static func run(configPath: String?, demo: Bool = false, env: [String: String],
                           onListening: (@Sendable (Int) -> Void)? = nil) async -> ExitCode {
        let loaded: Loaded
        switch load(path: configPath, env: env) {
        case .failure(let e):
            // No log format is configured yet: a sentence on stderr, as --check-config prints it.
            printError("camera-service: config error: \(e)")
            return .config
        case .success(let l): loaded = demo ? DemoPreset.apply(to: l) : l
        }
        let config = loaded.config
        let sink = LogSink(level: config.logging.level, format: config.logging.format)
        if demo { sink.hold() }  // the banner comes first; a failed start releases the lines
        defer { sink.release() }
        let systemd = SystemdNotify(environment: env, pid: getpid())
        let logger = Logger(label: "host", handler: sink)
        logger.info("\(BuildInfo.name) \(BuildInfo.version) starting (config: \(config.sourceFile ?? "defaults"), plugins: \(loaded.pluginsPath), mode: \(config.mode.rawValue))")
        let (before, after) = Sockets.raiseFileLimit()
        logger.info(after > before ? "raised the open-files limit from \(before) to \(after)" : "open-files limit: \(after)")
        do { try FileIO.makeDirectories(config.dataDir, mode: 0o750) } catch {
            logger.critical("start-up stopped: cannot create the data directory \(config.dataDir): \(error)")
            return .config
        }

        let host = HostAssembly(config: config, sink: sink, env: env, baseDir: loaded.baseDir)
        do {
            // The core's methods first: a plugin that claims one of their names fails, not the core.
            try host.registerCoreMethods()
            try await host.loadPlugins(loaded.entries, dirs: loaded.pluginDirs)
        } catch {
            logger.critical("start-up stopped: \(error)")
            await host.plugins.shutdownAll()
            return .config
        }
        await host.startCapabilities()

        let server: WebServer
        do {
            server = try host.makeServer()
        } catch let error as TLSConfigError {
            logger.critical("start-up stopped: \(error)")
            await host.stopCapabilities()
            return .config
        } catch {
            logger.critical("cannot listen on \(config.server.host):\(config.server.port): \(error)")
            await host.stopCapabilities()
            return .failure
        }
        startSignalWatcher(logger: logger) {
            systemd?.send("STOPPING=1")
            host.beginShutdown(server.handle)
        }
        host.serverState.setReady(true, port: server.port)
        let tls = config.server.tlsCertFile != nil
        logger.info("listening on \(config.server.host):\(server.port) (\(tls ? "wss/https (TLS)" : "ws/http"), WebSocket path \(config.server.websocketPath)); \(host.methods.all().count) methods registered")
        if demo {
            printOut(DemoPreset.banner(host: config.server.host, port: server.port, tls: tls, websocketPath: config.server.websocketPath,
                                       consoleDir: config.server.consoleDir, tokens: DemoPreset.tokens(from: host.plugins.capabilities.authProviders.map(\.provider))))
            sink.release()
        }
        systemd?.send("READY=1\nSTATUS=listening on port \(server.port)")
        let watchdog = systemd.flatMap { n in n.watchdogInterval.map { Watchdog(notify: n, interval: $0, loop: server.handle, logger: logger) } }
        host.events.publish(Event(topic: EventTopic.systemStartup, params: ["version": .string(BuildInfo.version)]))
        host.health.reevaluate()
        onListening?(server.port)
        let watcher = host.watchHealth()
        await server.run()
        watchdog?.stop()
        watcher.cancel()
        host.serverState.setReady(false, port: server.port)
        await host.stopCapabilities()
        logger.info("stopped")
        return .ok
    }

    /// Routes SIGINT/SIGTERM to a pipe: the handler only writes the signal number (async-signal
    /// safe) whichever thread the kernel picks; the watcher thread reads it and starts the
    /// graceful shutdown. Also ignores SIGPIPE (writes to closed sockets are errors, not deaths).
    package static func installSignalHandlers() {
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

    static func startSignalWatcher(logger: Logger, _ shutdown: @escaping @Sendable () -> Void) {
        let readFD = signalPipe.read
        guard readFD >= 0 else { return }
        spawnThread {
            var byte: UInt8 = 0
            while true {
                let n = read(readFD, &byte, 1)
                if n < 0 && errno == EINTR { continue }
                guard n == 1 else { return }
                logger.info("received \(Int32(byte) == SIGINT ? "SIGINT" : "SIGTERM"); shutting down")
                shutdown()
            }
        }
    }
}

// nonisolated(unsafe): written once by installSignalHandlers() before any handler can run and
// before other threads start; afterwards only read (by the handler and the watcher).
nonisolated(unsafe) private var signalPipe: (read: Int32, write: Int32) = (-1, -1)

/// Writes a line to standard error.
package func printError(_ s: String) { writeAll(2, s + "\n") }

/// Writes to standard output at once (no stdio buffering: a pipe sees it immediately).
func printOut(_ s: String) { writeAll(1, s) }

private func writeAll(_ fd: Int32, _ s: String) {
    let bytes = Array(s.utf8)
    var off = 0
    while off < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress.map { $0 + off }, $0.count - off) }
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { return }
        off += n
    }
}
