import Codecs
import Glibc
import JWTAuthCore
import PluginAPI

/// `camera-service keys add|list|revoke`: manages the API key file.
enum KeysCommand {
    static let usage = """
        Usage: camera-service keys add --role viewer|operator|admin [--expires 90d] [--description TEXT]
               camera-service keys list
               camera-service keys revoke ID
        Keys are kept in api-keys.json in the data directory. Add --config FILE to use another configuration.
        """

    static let command = PluginCommand(name: "keys", summary: "create, list and revoke API keys", usage: usage) { args, context in
        let settings = try Settings(context, createSecret: false)
        let file = APIKeyFile(path: settings.keysPath)
        guard let sub = args.first else { return usageError("missing subcommand") }
        var ring = try file.load()
        let now = wallClock()
        switch sub {
        case "add":
            var opts = Options(Array(args.dropFirst()))
            guard let roleName = opts.take("--role"), let role = Role(name: roleName) else {
                return usageError("keys add needs --role viewer|operator|admin")
            }
            var expires: Double?
            if let e = opts.take("--expires") {
                guard let ttl = parseTTL(e) else { return usageError("--expires takes a duration such as 90d or 12h") }
                expires = now + ttl
            }
            let description = opts.take("--description") ?? ""
            if let extra = opts.leftover { return usageError("unexpected argument '\(extra)'") }
            let (key, record) = ring.add(role: role, expiresAt: expires, description: description, now: now)
            try file.save(ring)
            print(key)
            printError("created API key \(record.id) (role \(role.name)\(expires.map { ", expires \(formatTime($0))" } ?? "")); it is shown only once")
            return 0
        case "list":
            guard args.count == 1 else { return usageError("keys list takes no arguments") }
            print("ID        ROLE      CREATED               EXPIRES               STATUS   DESCRIPTION")
            for r in ring.records {
                let status = r.revokedAt != nil ? "revoked" : (r.expiresAt.map { $0 <= now } == true ? "expired" : "active")
                let line = [pad(r.id, 9), pad(r.role.name, 9), pad(formatTime(r.createdAt), 21), pad(r.expiresAt.map(formatTime) ?? "never", 21),
                            pad(status, 8), r.description].joined(separator: " ")
                print(line)
            }
            return 0
        case "revoke":
            guard args.count == 2 else { return usageError("keys revoke takes one key ID") }
            guard ring.revoke(id: args[1], now: now) else {
                printError("no active API key with ID \(args[1])")
                return 1
            }
            try file.save(ring)
            print("revoked \(args[1])")
            return 0
        default:
            return usageError("unknown subcommand '\(sub)'")
        }
    }

    static func usageError(_ message: String) -> Int32 {
        printError("keys: \(message)\n\(usage)")
        return 2
    }
}

/// `camera-service token --role R --user U --ttl 1h`: mints a JWT with the configured secret.
enum TokenCommand {
    static let usage = """
        Usage: camera-service token --role viewer|operator|admin --user NAME [--ttl 1h]
        Prints a JWT signed with the daemon's secret (jwt.secret in the data directory unless configured).
        A daemon started with --demo signs with a secret of its own for that run: it accepts only the
        tokens it printed, not these. Add --config FILE to use another configuration.
        """

    static let command = PluginCommand(name: "token", summary: "mint a JWT with the configured secret", usage: usage) { args, context in
        let settings = try Settings(context, createSecret: true)
        var opts = Options(args)
        guard let roleName = opts.take("--role"), let role = Role(name: roleName) else { return fail("token needs --role viewer|operator|admin") }
        guard let user = opts.take("--user"), !user.isEmpty else { return fail("token needs --user NAME") }
        let ttlText = opts.take("--ttl") ?? "1h"
        guard let ttl = parseTTL(ttlText) else { return fail("--ttl takes a duration such as 1h or 30m") }
        if let extra = opts.leftover { return fail("unexpected argument '\(extra)'") }
        if let problem = SecretPolicy.problem(with: settings.secret), context.mode == .production {
            printError("token: \(problem)")
            return 2
        }
        let now = wallClock().rounded(.down)
        print(JWTVerifier(secret: settings.secret).mint(user: user, role: role, issuedAt: now, validFor: ttl))
        return 0
    }

    static func fail(_ message: String) -> Int32 {
        printError("token: \(message)\n\(usage)")
        return 2
    }
}

/// `--name value` pairs.
struct Options {
    var args: [String]
    init(_ args: [String]) { self.args = args }
    mutating func take(_ name: String) -> String? {
        guard let i = args.firstIndex(of: name), i + 1 < args.count else { return nil }
        let v = args[i + 1]
        args.removeSubrange(i...(i + 1))
        return v
    }
    var leftover: String? { args.first }
}

func printError(_ s: String) {
    let bytes = Array((s + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }

func formatTime(_ t: Double) -> String { Timestamp.rfc3339(t, milliseconds: false) }
