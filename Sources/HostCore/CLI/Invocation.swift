/// What a `camera-service …` command line asks for, parsed without side effects.
///
/// Global options (`--config FILE`, `--demo`, `--check-config`, `--version`, `--help`) are
/// accepted anywhere: before or after a command (`camera-service keys add --role viewer
/// --config FILE` works). Everything else after the command name is the command's own; `--`
/// ends option scanning, so a command can still receive an argument spelled like a global one.
package enum Invocation: Equatable, Sendable {
    /// Options every invocation shares.
    package struct Globals: Equatable, Sendable {
        package var configPath: String?
        package var demo = false
        package init(configPath: String? = nil, demo: Bool = false) {
            self.configPath = configPath
            self.demo = demo
        }
    }

    /// Start the daemon (`--demo` included).
    case run(Globals)
    /// `--check-config`: validate and exit.
    case checkConfig(Globals)
    /// A command an enabled plugin offers, e.g. `keys add --role viewer`.
    case command(name: String, arguments: [String], Globals)
    /// `--help` for the daemon (command nil) or for one command.
    case help(command: String?, Globals)
    case version

    /// A wrong invocation, as the sentence to print.
    package struct UsageError: Error, Equatable, Sendable, CustomStringConvertible {
        package let description: String
    }

    package static func parse(_ arguments: [String]) -> Result<Invocation, UsageError> {
        var globals = Globals()
        var check = false, help = false, version = false
        var name: String?
        var rest: [String] = []
        var i = 0
        func fail(_ s: String) -> Result<Invocation, UsageError> { .failure(UsageError(description: s)) }
        while i < arguments.count {
            let arg = arguments[i]
            i += 1
            switch arg {
            case "--":
                guard name != nil else { return fail("'--' comes after a command") }
                rest += arguments[i...]
                i = arguments.count
            case "--help", "-h": help = true
            case "--version": version = true
            case "--demo": globals.demo = true
            case "--check-config": check = true
            case "--config":
                guard i < arguments.count, !arguments[i].hasPrefix("-") else { return fail("--config needs a file") }
                globals.configPath = arguments[i]
                i += 1
            case _ where arg.hasPrefix("--config="):
                let value = String(arg.dropFirst("--config=".count))
                guard !value.isEmpty else { return fail("--config needs a file") }
                globals.configPath = value
            case _ where name != nil:
                rest.append(arg)
            case _ where arg.hasPrefix("-"):
                return fail("unknown option '\(arg)'")
            default:
                name = arg
            }
        }
        if help { return .success(.help(command: name, globals)) }
        if version { return .success(.version) }
        if let name {
            if globals.demo { return fail("--demo starts the daemon; it does not go with the command '\(name)'") }
            if check { return fail("--check-config does not go with the command '\(name)'") }
            return .success(.command(name: name, arguments: rest, globals))
        }
        if check && globals.demo { return fail("--check-config and --demo do not go together") }
        return .success(check ? .checkConfig(globals) : .run(globals))
    }
}
