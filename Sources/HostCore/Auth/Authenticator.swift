import PluginAPI
import Synchronization

/// How a credential reached the daemon, for audit lines.
enum AuthChannel: String, Sendable {
    /// The `authenticate` method.
    case method = "authenticate"
    /// `auth_token` in another method's params.
    case callToken = "auth_token param"
    /// `Authorization: Bearer` or `X-API-Key` on an HTTP request.
    case http
    /// Held by the connection since an earlier `authenticate` or `auth_token`.
    case session
}

/// The one place credentials are checked: the auth providers' chain (the first that accepts
/// wins), the per-address backoff after repeated failures, and one audit line format for
/// every outcome, whichever way the credential came.
final class Authenticator: Sendable {
    private let providers: @Sendable () -> [any AuthProvider]
    private let throttle: Mutex<AuthThrottle>
    private let audit: Logger

    init(providers: @escaping @Sendable () -> [any AuthProvider], failuresBeforeBackoff: Int, logger: Logger) {
        self.providers = providers
        throttle = Mutex(AuthThrottle(threshold: failuresBeforeBackoff))
        audit = logger
    }

    /// Whether any auth provider is loaded.
    var isAvailable: Bool { !providers().isEmpty }

    /// Verifies `token` from `remoteHost`: `-32030` without a provider, `-32040` (`auth_backoff`)
    /// while the address is backing off, `-32001` when every provider refuses it.
    func authenticate(_ token: String, type: AuthType?, remoteHost: String, via channel: AuthChannel,
                      logger: Logger? = nil) async -> Result<Principal, RPCError> {
        let log = logger ?? audit
        let chain = providers()
        guard !chain.isEmpty else {
            return .failure(.unsupported(feature: "authentication", detail: "no enabled plugin provides authentication (e.g. jwt_auth); enable one in plugins.yaml"))
        }
        let now = HostClock.monotonic()
        if let wait = throttle.withLock({ $0.retryAfter(remoteHost, now: now) }) {
            log.notice("authentication refused: backing off", Authenticator.fields("auth_backoff", channel, remoteHost, [("retry_after_ms", String(wait))]))
            return .failure(.authBackoff(retryAfterMs: wait))
        }
        var refusal = RPCError.authenticationRequired(reason: "auth_failed", detail: "no auth provider accepted the credential")
        for provider in chain {
            do {
                let principal = try await provider.authenticate(token: token, type: type)
                throttle.withLock { $0.succeeded(remoteHost) }
                log.info("authenticated", Authenticator.fields("auth_success", channel, remoteHost, [
                    ("user", principal.userID), ("role", principal.role.name), ("auth_type", principal.authType.rawValue)]))
                return .success(principal)
            } catch let e as RPCError {
                refusal = e
            } catch {
                refusal = .authenticationRequired(reason: "auth_failed", detail: "\(error)")
            }
        }
        throttle.withLock { $0.failed(remoteHost, now: HostClock.monotonic()) }
        log.notice("authentication failed", Authenticator.fields("auth_failure", channel, remoteHost, [
            ("reason", refusal.data["reason"]?.stringValue ?? ""), ("detail", refusal.data["detail"]?.stringValue ?? "")]))
        return .failure(refusal)
    }

    /// The audit fields every authentication line carries, in one order.
    static func fields(_ outcome: String, _ channel: AuthChannel, _ remote: String, _ more: [(String, String)]) -> [(String, String)] {
        [("audit", outcome), ("via", channel.rawValue), ("remote", remote)] + more
    }

    /// The one line for an authenticated caller whose role is too low for `target` (`method`
    /// or `path` and its name), whichever way the credential came.
    static func logDenied(_ target: (kind: String, name: String), needs required: Role, _ principal: Principal, _ channel: AuthChannel,
                          _ remote: String, logger: Logger) {
        logger.notice("permission denied: \(target.name) needs \(required.name)", fields("permission_denied", channel, remote, [
            target, ("user", principal.userID), ("role", principal.role.name)]))
    }
}

/// Credentials on HTTP routes: `Authorization: Bearer <JWT or key>` or `X-API-Key: <key>`,
/// through the ``Authenticator``; refusals as HTTP statuses with the same JSON error body.
struct HTTPAuthorizer: Sendable {
    let authenticator: Authenticator
    let logger: Logger

    enum Outcome: Sendable {
        case allowed(Principal)
        case refused(HTTPRouteResponse)
    }

    func authorize(_ request: HTTPRouteRequest, minimum: Role) async -> Outcome {
        var token: String?
        var type: AuthType?
        if let auth = request.header("authorization") {
            let parts = auth.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" { token = String(parts[1]).trimmingCharacters(in: " ") }
        } else if let key = request.header("x-api-key") {
            token = key
            type = .apiKey
        }
        guard let token, !token.isEmpty else {
            return .refused(.error(401, "authentication required (Authorization: Bearer or X-API-Key)", headers: [("WWW-Authenticate", "Bearer")]))
        }
        switch await authenticator.authenticate(token, type: type, remoteHost: request.remoteHost, via: .http) {
        case .failure(let e):
            switch e.code {
            case -32040:
                let ms = e.data["retry_after_ms"]?.intValue ?? 1000
                return .refused(.error(429, e.data["detail"]?.stringValue ?? "too many failed authentications; retry later",
                                       headers: [("Retry-After", String(max(1, (ms + 999) / 1000)))]))
            case -32030:
                return .refused(.error(503, e.data["detail"]?.stringValue ?? "no auth provider is enabled"))
            default:
                let why = e.data["reason"]?.stringValue == "token_expired" ? "the credential has expired" : "invalid credentials"
                return .refused(.error(401, why, headers: [("WWW-Authenticate", "Bearer")]))
            }
        case .success(let principal):
            guard principal.role >= minimum else {
                Authenticator.logDenied(("path", request.path), needs: minimum, principal, .http, request.remoteHost, logger: logger)
                return .refused(.error(403, "\(request.path) needs role \(minimum.name); you are \(principal.role.name)"))
            }
            return .allowed(principal)
        }
    }
}

extension String {
    func trimmingCharacters(in set: Character) -> String {
        var s = Substring(self)
        while s.first == set { s.removeFirst() }
        while s.last == set { s.removeLast() }
        return String(s)
    }
}
