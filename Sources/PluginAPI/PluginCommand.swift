/// A command-line subcommand a plugin offers (`camera-service <name> …`), e.g. the auth
/// plugin's `keys` and `token`. The host loads plugins.yaml, finds the enabled plugin that
/// offers the command and runs it with that plugin's context, without starting the daemon.
public struct PluginCommand: Sendable {
    /// The subcommand word, e.g. `keys`.
    public var name: String
    /// One line for `camera-service --help`.
    public var summary: String
    /// Usage text printed for `camera-service <name> --help` and on a usage error.
    public var usage: String
    /// Runs the command with its arguments (after the name); returns the exit code. Print
    /// results to standard output, problems to standard error.
    public var run: @Sendable (_ arguments: [String], _ context: any PluginContext) async throws -> Int32

    /// A command `name` with its help texts and the closure that runs it.
    public init(name: String, summary: String, usage: String,
                run: @escaping @Sendable (_ arguments: [String], _ context: any PluginContext) async throws -> Int32) {
        self.name = name
        self.summary = summary
        self.usage = usage
        self.run = run
    }
}

extension Plugin {
    /// No commands unless the plugin says otherwise.
    public func commands() -> [PluginCommand] { [] }
}
