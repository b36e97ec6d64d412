import Glibc
import HostCore

/// camera-service command line: parse, then hand over to HostCore.
let usage = """
    Usage: camera-service [--config FILE] [--demo]      run the daemon
           camera-service [--config FILE] --check-config
           camera-service [--config FILE] COMMAND [ARGS…]
           camera-service --version | --help | COMMAND --help

    Options (accepted before or after a command):
      --config FILE     configuration file (default ./config.yaml, then /etc/camera-service/config.yaml)
      --demo            run with test-pattern cameras and a secret made for this run; prints the console
                        URL and viewer, operator and admin tokens first (they stop working when it stops)
      --check-config    validate the configuration and plugins files and the plugin libraries, then exit
      --version         print the version and exit
      --help            print this help (or a command's) and exit

    Commands come from the enabled plugins, e.g. (jwt_auth):
      keys add --role ROLE [--expires 90d] [--description TEXT] | keys list | keys revoke ID
      token --role ROLE --user NAME [--ttl 1h]

    Environment: CAMERA_SERVICE_<SECTION>_<KEY> overrides a config key, e.g. CAMERA_SERVICE_SERVER_PORT=18002.
    Exit codes: 0 success or clean shutdown; 1 runtime failure (e.g. the port is taken, a command failed);
                2 wrong invocation, bad configuration or a required plugin failed.
    """

// First of all, so that SIGINT/SIGTERM during start-up already mean a graceful stop.
Daemon.installSignalHandlers()

let env = FileIO.environment()
switch Invocation.parse(Array(CommandLine.arguments.dropFirst())) {
case .failure(let error):
    printError("camera-service: \(error)\nRun 'camera-service --help' for the usage.")
    exit(Daemon.ExitCode.config.rawValue)
case .success(.version):
    print("\(BuildInfo.name) \(BuildInfo.version) (Swift \(BuildInfo.swiftVersion), \(BuildInfo.architecture))")
case .success(.help(nil, _)):
    print(usage)
case .success(.help(let name?, let globals)):
    exit(await Daemon.runCommand(name, arguments: [], help: true, configPath: globals.configPath, env: env))
case .success(.command(let name, let arguments, let globals)):
    exit(await Daemon.runCommand(name, arguments: arguments, help: false, configPath: globals.configPath, env: env))
case .success(.checkConfig(let globals)):
    exit(await Daemon.checkConfig(path: globals.configPath, env: env).rawValue)
case .success(.run(let globals)):
    exit(await Daemon.run(configPath: globals.configPath, demo: globals.demo, env: env).rawValue)
}
