import Glibc
import HostCore

/// camera-service command line: parse, then hand over to HostCore.
let usage = """
    Usage: camera-service [--config FILE] [--check-config]
           camera-service [--config FILE] COMMAND [ARGS…]
           camera-service --version | --help

    Options:
      --config FILE     configuration file (default ./config.yaml, then /etc/camera-service/config.yaml)
      --check-config    validate the configuration and plugins files and the plugin libraries, then exit
                        (0 valid, 2 invalid) without starting
      --version         print the version and exit
      --help            print this help and exit

    Commands come from the enabled plugins, e.g. (jwt_auth):
      keys add --role ROLE [--expires 90d] [--description TEXT] | keys list | keys revoke ID
      token --role ROLE --user NAME [--ttl 1h]
    `camera-service COMMAND --help` prints a command's usage.

    Environment: CAMERA_SERVICE_<SECTION>_<KEY> overrides a config key, e.g. CAMERA_SERVICE_SERVER_PORT=18002.
    Exit codes: 0 clean shutdown, 1 runtime failure, 2 configuration or required plugin failure.
    """

func fail(_ message: String) -> Never {
    printError("camera-service: \(message)\n\(usage)")
    exit(Daemon.ExitCode.config.rawValue)
}

// First of all, so that SIGINT/SIGTERM during start-up already mean a graceful stop.
Daemon.installSignalHandlers()

var configPath: String?
var checkOnly = false
var command: (name: String, arguments: [String])?
var args = CommandLine.arguments.dropFirst()
while command == nil, let arg = args.popFirst() {
    switch arg {
    case "--help", "-h":
        print(usage)
        exit(0)
    case "--version":
        print("\(BuildInfo.name) \(BuildInfo.version) (Swift \(BuildInfo.swiftVersion), \(BuildInfo.architecture))")
        exit(0)
    case "--config":
        guard let value = args.popFirst() else { fail("--config needs a file") }
        configPath = value
    case "--check-config":
        checkOnly = true
    default:
        if arg.hasPrefix("--config=") {
            configPath = String(arg.dropFirst("--config=".count))
        } else if arg.hasPrefix("-") {
            fail("unknown argument '\(arg)'")
        } else {
            command = (arg, Array(args))
        }
    }
}

let env = FileIO.environment()
if let command { exit(await Daemon.runCommand(command.name, arguments: command.arguments, configPath: configPath, env: env)) }
if checkOnly { exit(await Daemon.checkConfig(path: configPath, env: env).rawValue) }
exit(await Daemon.run(configPath: configPath, env: env).rawValue)
