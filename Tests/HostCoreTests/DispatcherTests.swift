@testable import HostCore
import PluginAPI
import Synchronization
import Testing

/// A log handler that drops everything (tests assert on replies, not logs).
struct NullLog: LogHandler {
    var minimumLevel: LogLevel { .critical }
    func log(_ event: LogEvent) {}
}

/// Verifies a credential for the tests.
typealias CredentialVerifier = @Sendable (_ token: String, _ type: AuthType?) async throws -> Principal

/// An auth provider made of a closure.
final class ClosureAuth: AuthProvider {
    let verify: CredentialVerifier
    init(_ verify: @escaping CredentialVerifier) { self.verify = verify }
    func authenticate(token: String, type: AuthType?) async throws -> Principal { try await verify(token, type) }
}

/// Runs messages through a dispatcher and waits for async replies.
final class Harness: Sendable {
    let methods = MethodTable()
    let sessions: SessionRegistry
    let dispatcher: RPCDispatcher

    init(verifier: CredentialVerifier? = nil, observer: (any RPCObserver)? = nil, limits: RateLimitSettings = RateLimitSettings()) {
        let logger = Logger(label: "test", handler: NullLog())
        sessions = SessionRegistry(limits: limits)
        let providers: [any AuthProvider] = verifier.map { [ClosureAuth($0)] } ?? []
        let authenticator = Authenticator(providers: { providers }, failuresBeforeBackoff: limits.authFailuresBeforeBackoff, logger: logger)
        dispatcher = RPCDispatcher(methods: methods, sessions: sessions, authenticator: authenticator, logger: logger, observer: observer)
        sessions.open(ConnectionRefForTests.make(1), remoteHost: "127.0.0.1")
    }

    func send(_ text: String, connection: UInt64 = 1) async -> JSONValue? {
        let box = Mutex<[UInt8]??>(nil)
        let disposition = dispatcher.handle(Array(text.utf8), connection: connection, sequence: 1) { bytes in box.withLock { $0 = .some(bytes) } }
        switch disposition {
        case .reply(let b): return try? JSONValue.parse(b)
        case .none: return nil
        case .pending:
            for _ in 0..<2000 {
                if let r = box.withLock({ $0 }) { return r.flatMap { try? JSONValue.parse($0) } }
                try? await Task.sleep(for: .milliseconds(1))
            }
            Issue.record("no reply within 2 s")
            return nil
        }
    }
}

enum ConnectionRefForTests {
    static func make(_ id: UInt64) -> ConnectionRef { ConnectionRef(fd: 3, id: id) }
}

@Suite struct DispatcherTests {
    func harness(verifier: CredentialVerifier? = nil) throws -> Harness {
        let h = Harness(verifier: verifier)
        let r = h.methods.registry(owner: "test")
        try r.registerInline(MethodDescriptor("ping", role: nil)) { _ in "pong" }
        try r.register(MethodDescriptor("slow_echo", role: .viewer, params: [ParamDescriptor("text", .string(), required: true)])) { call in
            try await Task.sleep(for: .milliseconds(20))
            return .string(call.params.string("text") ?? "")
        }
        try r.registerInline(MethodDescriptor("admin_only", role: .admin)) { _ in true }
        try r.registerInline(MethodDescriptor("boom", role: nil)) { _ in throw SomeBug() }
        return h
    }
    struct SomeBug: Error {}

    @Test func inlineReply() async throws {
        let h = try harness()
        #expect(await h.send(#"{"jsonrpc":"2.0","method":"ping","id":1}"#) == ["jsonrpc": "2.0", "id": 1, "result": "pong"])
    }

    @Test func notificationGetsNoReply() async throws {
        let h = try harness()
        #expect(await h.send(#"{"jsonrpc":"2.0","method":"ping"}"#) == nil)
    }

    @Test func unknownMethod() async throws {
        let h = try harness()
        let r = await h.send(#"{"jsonrpc":"2.0","method":"nope","id":"x"}"#)
        #expect(r?["error"]?["code"] == -32601 && r?["error"]?["data"]?["method"] == "nope" && r?["id"] == "x")
    }

    @Test func authenticationAndRoles() async throws {
        let h = try harness()
        var r = await h.send(#"{"jsonrpc":"2.0","method":"slow_echo","id":1,"params":{"text":"a"}}"#)
        #expect(r?["error"]?["code"] == -32001 && r?["error"]?["data"]?["reason"] == "auth_required")
        h.sessions.setPrincipal(1, Principal(userID: "u", role: .viewer, authType: .jwt, expiresAt: nil), sessionID: "s")
        r = await h.send(#"{"jsonrpc":"2.0","method":"slow_echo","id":1,"params":{"text":"a"}}"#)
        #expect(r?["result"] == "a")
        r = await h.send(#"{"jsonrpc":"2.0","method":"admin_only","id":2}"#)
        #expect(r?["error"]?["code"] == -32002 && r?["error"]?["data"]?["required_role"] == "admin" && r?["error"]?["data"]?["role"] == "viewer")
    }

    @Test func expiredSessionIsRefused() async throws {
        let h = try harness()
        h.sessions.setPrincipal(1, Principal(userID: "u", role: .admin, authType: .jwt, expiresAt: 1), sessionID: "s")
        let r = await h.send(#"{"jsonrpc":"2.0","method":"admin_only","id":1}"#)
        #expect(r?["error"]?["code"] == -32001 && r?["error"]?["data"]?["reason"] == "token_expired")
        #expect(h.sessions.principal(1) == nil)
    }

    @Test func perCallTokenAuthenticatesTheConnection() async throws {
        let h = try harness(verifier: { token, _ in
            guard token == "good" else { throw RPCError.authenticationRequired(reason: "auth_failed") }
            return Principal(userID: "u", role: .admin, authType: .jwt, expiresAt: nil)
        })
        var r = await h.send(#"{"jsonrpc":"2.0","method":"admin_only","id":1,"params":{"auth_token":"bad"}}"#)
        #expect(r?["error"]?["data"]?["reason"] == "auth_failed")
        r = await h.send(#"{"jsonrpc":"2.0","method":"admin_only","id":1,"params":{"auth_token":"good"}}"#)
        #expect(r?["result"] == true)
        r = await h.send(#"{"jsonrpc":"2.0","method":"admin_only","id":2}"#)
        #expect(r?["result"] == true)  // kept for the connection
    }

    @Test func paramsAreValidated() async throws {
        let h = try harness()
        h.sessions.setPrincipal(1, Principal(userID: "u", role: .admin, authType: .jwt, expiresAt: nil), sessionID: "s")
        var r = await h.send(#"{"jsonrpc":"2.0","method":"slow_echo","id":1}"#)
        #expect(r?["error"]?["code"] == -32602 && r?["error"]?["data"]?["param"] == "text" && r?["error"]?["data"]?["rule"] == "required")
        r = await h.send(#"{"jsonrpc":"2.0","method":"slow_echo","id":1,"params":{"text":5}}"#)
        #expect(r?["error"]?["data"]?["rule"] == "type")
        r = await h.send(#"{"jsonrpc":"2.0","method":"slow_echo","id":1,"params":["a"]}"#)
        #expect(r?["error"]?["data"]?["param"] == "params")
    }

    @Test func handlerBugIsInternalError() async throws {
        let h = try harness()
        let r = await h.send(#"{"jsonrpc":"2.0","method":"boom","id":1}"#)
        #expect(r?["error"]?["code"] == -32603)
    }

    @Test func batchMixesInlineAsyncAndNotifications() async throws {
        let h = try harness()
        h.sessions.setPrincipal(1, Principal(userID: "u", role: .viewer, authType: .jwt, expiresAt: nil), sessionID: "s")
        let r = await h.send(#"[{"jsonrpc":"2.0","method":"slow_echo","params":{"text":"x"},"id":1},{"jsonrpc":"2.0","method":"ping"},7,{"jsonrpc":"2.0","method":"ping","id":2}]"#)
        let items = r?.arrayValue ?? []
        #expect(items.count == 3)
        #expect(items.first?["result"] == "x")
        #expect(items.dropFirst().first?["error"]?["code"] == -32600)
        #expect(items.last?["result"] == "pong")
    }

    @Test func duplicateRegistrationIsRejected() throws {
        let h = try harness()
        #expect(throws: DuplicateMethodError.self) {
            try h.methods.registry(owner: "plugin other").registerInline(MethodDescriptor("ping", role: nil)) { _ in JSONValue.null }
        }
    }

    @Test func onlyRegisteredNamesBecomeMetricLabels() async throws {
        let metrics = Metrics()
        var limits = RateLimitSettings()
        limits.requestsPerSecond = 0.01
        limits.burst = 2
        let h = Harness(observer: metrics, limits: limits)
        try h.methods.registry(owner: "test").registerInline(MethodDescriptor("ping", role: nil)) { _ in "pong" }
        _ = await h.send(#"{"jsonrpc":"2.0","method":"ping","id":1}"#)
        _ = await h.send(#"{"jsonrpc":"2.0","method":"made.up\r\nfake 1","id":2}"#)
        let limited = await h.send(#"{"jsonrpc":"2.0","method":"another.made.up","id":3}"#)
        #expect(limited?["error"]?["code"] == -32040)  // rate-limited before lookup: still no new label
        #expect(metrics.snapshot().methods.map(\.name) == ["(unknown)", "ping"])
    }

    @Test(arguments: [("^camera[0-9]+$", "camera12", true), ("^camera[0-9]+$", "camera0\u{301}", false),
                      ("^[a-z][a-z0-9_]{0,63}$", "cam\u{20e3}", false), ("^[a-z][a-z0-9_]{0,63}$", "café", false), ("^camera[0-9]+$", "camera", false), ("^camera[0-9]+$", "camera1x", false),
                      ("^[a-z][a-z0-9_]{0,63}$", "test_cam0", true), ("^[a-z][a-z0-9_]{0,63}$", "../x", false),
                      ("^[a-z][a-z0-9_]{0,63}$", "a" + String(repeating: "b", count: 64), false)])
    func patterns(pattern: String, input: String, matches: Bool) {
        #expect(SimplePattern(pattern)?.matches(input) == matches)
    }

    /// A pattern the host cannot enforce exactly is refused when the method is registered,
    /// naming the method and the parameter — never accepted as "matches everything".
    @Test(arguments: ["(unsupported)", "^a.b$", "^[^a]$", "^a|b$", "^\\d+$", "camera[0-9]+", "^a+?$", "^é$", "^[a-z]{3,1}$"])
    func unenforceablePatternsFailRegistration(pattern: String) throws {
        let h = Harness()
        let r = h.methods.registry(owner: "test")
        do {
            try r.registerInline(MethodDescriptor("m", role: nil, params: [ParamDescriptor("p", .string(pattern: pattern))])) { _ in "x" }
            Issue.record("pattern \(pattern) was accepted")
        } catch let e as UnsupportedParamError {
            #expect(e.method == "m" && e.param == "p")
        }
        #expect(h.methods.lookup("m") == nil)
    }
}
