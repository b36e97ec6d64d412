@testable import HostCore
import PluginAPI
import Testing

@Suite struct InvocationTests {
    func parse(_ s: String) -> Result<Invocation, Invocation.UsageError> {
        Invocation.parse(s.split(separator: " ").map(String.init))
    }

    @Test func globalsBeforeOrAfterTheCommand() {
        let expected = Invocation.command(name: "keys", arguments: ["add", "--role", "viewer"], .init(configPath: "c.yaml"))
        #expect(parse("--config c.yaml keys add --role viewer") == .success(expected))
        #expect(parse("keys add --role viewer --config c.yaml") == .success(expected))
        #expect(parse("keys add --config=c.yaml --role viewer") == .success(expected))
    }

    @Test func runModes() {
        #expect(parse("") == .success(.run(.init())))
        #expect(parse("--demo --config x") == .success(.run(.init(configPath: "x", demo: true))))
        #expect(parse("--check-config") == .success(.checkConfig(.init())))
        #expect(parse("--version") == .success(.version))
    }

    @Test func helpForTheDaemonOrACommand() {
        #expect(parse("--help") == .success(.help(command: nil, .init())))
        #expect(parse("-h --demo") == .success(.help(command: nil, .init(demo: true))))
        #expect(parse("token --role admin --help") == .success(.help(command: "token", .init())))
        #expect(parse("keys add -h") == .success(.help(command: "keys", .init())))
    }

    @Test func doubleDashPassesTheRestToTheCommand() {
        #expect(parse("keys add --description -- --config") == .success(.command(name: "keys", arguments: ["add", "--description", "--config"], .init())))
    }

    @Test func wrongInvocationsSaySoInASentence() {
        for (line, message) in [("--bogus", "unknown option '--bogus'"), ("--config", "--config needs a file"),
                                ("--config --demo", "--config needs a file"), ("--config=", "--config needs a file"),
                                ("--demo keys list", "--demo starts the daemon; it does not go with the command 'keys'"),
                                ("keys list --check-config", "--check-config does not go with the command 'keys'"),
                                ("--demo --check-config", "--check-config and --demo do not go together"),
                                ("-- keys", "'--' comes after a command")] {
            #expect(parse(line) == .failure(.init(description: message)), "\(line)")
        }
    }
}

@Suite struct DemoPresetTests {
    func loaded(_ entries: [PluginEntry]) -> Daemon.Loaded {
        Daemon.Loaded(config: ServiceConfig(), entries: entries, pluginsPath: "/etc/camera-service/plugins.yaml")
    }
    func entry(_ name: String, _ library: String, enabled: Bool) -> PluginEntry {
        PluginEntry(name: name, library: library, enabled: enabled, required: false, config: [:], mark: SourceMark(source: "p", line: 1, column: 1))
    }

    @Test func turnsTheTestPatternOnAndTheModeToDevelopment() {
        let l = DemoPreset.apply(to: loaded([entry("jwt_auth", "JWTAuth", enabled: true), entry("tp", "TestPatternSource", enabled: false)]))
        #expect(l.config.demo && l.config.mode == .development)
        #expect(l.entries.map(\.name) == ["jwt_auth", "tp"] && l.entries[1].enabled)
    }

    @Test func addsTheTestPatternWhenThePluginsFileHasNone() {
        let l = DemoPreset.apply(to: loaded([entry("jwt_auth", "JWTAuth", enabled: true)]))
        #expect(l.entries.last?.library == "TestPatternSource" && l.entries.last?.enabled == true)
    }

    @Test func bannerStartsWithTheConsoleAndNamesEveryRole() {
        let text = DemoPreset.banner(host: "0.0.0.0", port: 8002, tls: false, websocketPath: "/ws", consoleDir: "/c",
                                     tokens: Role.allCases.map { ($0, "tok-\($0.name)") })
        let lines = text.split(separator: "\n")
        #expect(lines[1].contains("http://localhost:8002/") && lines[2].contains("ws://localhost:8002/ws"))
        for role in Role.allCases { #expect(lines.contains { $0.hasPrefix("  \(role.name) ") && $0.hasSuffix("tok-\(role.name)") }) }
        let v6 = DemoPreset.banner(host: "::1", port: 1, tls: true, websocketPath: "/ws", consoleDir: "", tokens: nil)
        #expect(v6.contains("wss://[::1]:1/ws") && v6.contains("no enabled auth plugin can issue tokens"))
    }
}

@Suite struct SystemdNotifyTests {
    @Test func notRunUnderSystemdWithoutAUsableSocket() {
        #expect(SystemdNotify(environment: [:], pid: 7) == nil)
        #expect(SystemdNotify(environment: ["NOTIFY_SOCKET": "relative/path"], pid: 7) == nil)
        #expect(SystemdNotify(environment: ["NOTIFY_SOCKET": "@"], pid: 7) == nil)
        #expect(SystemdNotify(environment: ["NOTIFY_SOCKET": "/" + String(repeating: "x", count: 120)], pid: 7) == nil)
    }

    @Test func pathAndAbstractSockets() throws {
        let path = try #require(SystemdNotify(environment: ["NOTIFY_SOCKET": "/run/systemd/notify"], pid: 7))
        #expect(path.path == Array("/run/systemd/notify".utf8) && path.watchdogInterval == nil)
        let abstract = try #require(SystemdNotify(environment: ["NOTIFY_SOCKET": "@sd"], pid: 7))
        #expect(abstract.path == [0, UInt8(ascii: "s"), UInt8(ascii: "d")])
    }

    @Test func watchdogAtHalfTheIntervalAndOnlyForThisProcess() {
        let env = ["NOTIFY_SOCKET": "/n", "WATCHDOG_USEC": "20000000"]
        #expect(SystemdNotify(environment: env, pid: 7)?.watchdogInterval == 10)
        #expect(SystemdNotify(environment: env.merging(["WATCHDOG_PID": "7"]) { $1 }, pid: 7)?.watchdogInterval == 10)
        #expect(SystemdNotify(environment: env.merging(["WATCHDOG_PID": "8"]) { $1 }, pid: 7)?.watchdogInterval == nil)
        #expect(SystemdNotify(environment: env.merging(["WATCHDOG_USEC": "0"]) { $1 }, pid: 7)?.watchdogInterval == nil)
        #expect(SystemdNotify(environment: env.merging(["WATCHDOG_USEC": "soon"]) { $1 }, pid: 7)?.watchdogInterval == nil)
    }
}
