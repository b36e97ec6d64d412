import PluginAPI
import WireProtocols

/// Runs JSON-RPC messages against the method table: envelope checks, parameter checks, role
/// checks, then the handler, inline or in a task. Knows nothing of sockets: it returns the
/// reply bytes, or hands them to `deliver` later.
package final class RPCDispatcher: Sendable {
    let methods: MethodTable
    let sessions: SessionRegistry
    let authenticator: Authenticator
    let logger: Logger
    let observer: (any RPCObserver)?

    init(methods: MethodTable, sessions: SessionRegistry, authenticator: Authenticator, logger: Logger, observer: (any RPCObserver)? = nil) {
        self.methods = methods
        self.sessions = sessions
        self.authenticator = authenticator
        self.logger = logger
        self.observer = observer
    }

    /// What became of a message.
    package enum Disposition: Sendable, Equatable {
        /// Send these bytes now.
        case reply([UInt8])
        /// Nothing to send (notifications only).
        case none
        /// Work continues in a task; `deliver` will be called exactly once, with the reply or
        /// nil when there is nothing to send.
        case pending
    }

    /// Handles one text message from `connection`.
    package func handle(_ message: [UInt8], connection: UInt64, sequence: UInt64,
                       deliver: @escaping @Sendable ([UInt8]?) -> Void) -> Disposition {
        switch JSONRPC.decode(message) {
        case .rejected(let error):
            observer?.rejected(error)
            var out: [UInt8] = []
            JSONRPC.appendError(id: .null, error: error, to: &out)
            return .reply(out)
        case .single(let item):
            switch start(item, connection: connection, cid: "\(connection)-\(sequence)") {
            case .none: return .none
            case .now(let bytes): return .reply(bytes)
            case .later(let task):
                Task { deliver(await task.value) }
                return .pending
            }
        case .batch(let items):
            var outcomes: [Outcome] = []
            outcomes.reserveCapacity(items.count)
            for (i, item) in items.enumerated() {
                outcomes.append(start(item, connection: connection, cid: "\(connection)-\(sequence).\(i)"))
            }
            let allNow = outcomes.allSatisfy { if case .later = $0 { return false }; return true }
            if allNow {
                return RPCDispatcher.joinBatch(outcomes.compactMap { if case .now(let b) = $0 { return b }; return nil }).map(Disposition.reply) ?? .none
            }
            Task {
                var parts: [[UInt8]] = []
                for o in outcomes {
                    switch o {
                    case .none: break
                    case .now(let b): parts.append(b)
                    case .later(let t): if let b = await t.value { parts.append(b) }
                    }
                }
                deliver(RPCDispatcher.joinBatch(parts))
            }
            return .pending
        }
    }

    /// A batch reply: one array, or nothing when every member was a notification.
    static func joinBatch(_ parts: [[UInt8]]) -> [UInt8]? {
        guard !parts.isEmpty else { return nil }
        var out: [UInt8] = [UInt8(ascii: "[")]
        for (i, p) in parts.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: p)
        }
        out.append(UInt8(ascii: "]"))
        return out
    }

    enum Outcome: Sendable {
        case none
        case now([UInt8])
        case later(Task<[UInt8]?, Never>)
    }

    func start(_ item: JSONRPCItem, connection: UInt64, cid: String) -> Outcome {
        switch item {
        case .invalid(let id, let error):
            observer?.rejected(error)
            return .now(encode(id: id, .failure(error)))
        case .call(let id, let method, let params):
            let began = HostClock.monotonic()
            let prepared = prepare(method: method, params: params, connection: connection, cid: cid)
            // Operator and admin actions that ran get an audit line (refusals have their own).
            let audits = (prepared.entry?.descriptor.minimumRole).map { $0 >= .operator } ?? false
            // Only registered names become metric labels: clients cannot grow the table.
            let label = prepared.entry?.descriptor.name ?? (methods.lookup(method) != nil ? method : RPCDispatcher.unknownMethodLabel)
            let reply: @Sendable (Result<JSONValue, RPCError>, RPCCall?) -> [UInt8]? = { [observer, logger] result, ran in
                observer?.completed(method: label, error: result.failureCode, seconds: HostClock.monotonic() - began)
                if audits, let call = ran { RPCDispatcher.audit(call, result, logger: logger) }
                guard let id else { return nil }
                return RPCDispatcher.encodeReply(id: id, result)
            }
            switch prepared {
            case .failure(let error):
                return reply(.failure(error), nil).map(Outcome.now) ?? .none
            case .success(.run(let entry, let call)):
                switch entry.implementation {
                case .inline(let handler):
                    return reply(RPCDispatcher.run { try handler(call) } onError: { self.internalError($0, call) }, call).map(Outcome.now) ?? .none
                case .async(let handler):
                    return .later(Task { reply(await RPCDispatcher.runAsync { try await handler(call) } onError: { self.internalError($0, call) }, call) })
                }
            case .success(.authenticateFirst(let token, let entry, let call, let params)):
                return .later(Task {
                    switch await self.authenticateInline(token: token, entry: entry, call: call).flatMap({ RPCDispatcher.withParams($0, params, entry) }) {
                    case .failure(let e): return reply(.failure(e), nil)
                    case .success(let authed):
                        switch entry.implementation {
                        case .inline(let h): return reply(RPCDispatcher.run { try h(authed) } onError: { self.internalError($0, authed) }, authed)
                        case .async(let h): return reply(await RPCDispatcher.runAsync { try await h(authed) } onError: { self.internalError($0, authed) }, authed)
                        }
                    }
                })
            }
        }
    }

    /// One audit line for every operator or admin action, with who, what and the outcome.
    static func audit(_ call: RPCCall, _ result: Result<JSONValue, RPCError>, logger: Logger) {
        var fields: [(String, String)] = [("audit", "action"), ("cid", call.correlationID), ("method", call.method),
                                          ("user", call.principal?.userID ?? "-"), ("role", call.principal?.role.name ?? "-")]
        if let device = call.params.string("device") { fields.append(("device", device)) }
        if let filename = call.params.string("filename") { fields.append(("filename", filename)) }
        switch result {
        case .success: fields.append(("outcome", "ok"))
        case .failure(let e): fields.append(("outcome", "error \(e.code)"))
        }
        logger.notice("\(call.method) by \(call.principal?.userID ?? "-")", fields)
    }

    enum Prepared {
        case run(MethodEntry, RPCCall)
        /// Not authenticated but the params carry `auth_token`: verify it, then check the role
        /// and the (still unchecked) params.
        case authenticateFirst(String, MethodEntry, RPCCall, JSONValue?)
    }

    /// Rate, lookup, identity and role checks, then parameters: a caller who may not call a
    /// method learns nothing about its parameters.
    func prepare(method: String, params: JSONValue?, connection: UInt64, cid: String) -> Result<Prepared, RPCError> {
        let principal: Principal?
        let origin: CallOrigin
        switch sessions.admit(connection, method: method) {
        case .limited(let ms): return .failure(.rateLimited(retryAfterMs: ms))
        case .admitted(let p, let o):
            principal = p
            origin = o
        }
        guard let entry = methods.lookup(method) else { return .failure(.methodNotFound(method)) }
        let call = RPCCall(method: method, params: [:], principal: principal, connectionID: connection, correlationID: cid,
                           logger: logger.with("cid", cid), origin: origin)
        if let required = entry.descriptor.minimumRole {
            guard let principal else {
                if let token = params?["auth_token"]?.stringValue {
                    return .success(.authenticateFirst(token, entry, call, params))
                }
                return .failure(.authenticationRequired(reason: "auth_required", detail: "call 'authenticate' first"))
            }
            if !principal.isValid(at: HostClock.now()) {
                sessions.setPrincipal(connection, nil, sessionID: nil)
                return .failure(.authenticationRequired(reason: "token_expired", detail: "the session's token has expired; authenticate again"))
            }
            guard principal.role >= required else {
                Authenticator.logDenied(("method", method), needs: required, principal, .session, origin.remoteHost, logger: call.logger)
                return .failure(.permissionDenied(required: required, actual: principal.role))
            }
        }
        return RPCDispatcher.withParams(call, params, entry).map { .run(entry, $0) }
    }

    /// The call with its parameters checked against the method's descriptors.
    static func withParams(_ call: RPCCall, _ params: JSONValue?, _ entry: MethodEntry) -> Result<RPCCall, RPCError> {
        do {
            var c = call
            c.params = try ParamValidator.validate(params, entry.rules)
            return .success(c)
        } catch {
            return .failure(error)
        }
    }

    /// Per-call `auth_token` on a connection that has not authenticated: verify, keep it for
    /// the connection, then check the role.
    func authenticateInline(token: String, entry: MethodEntry, call: RPCCall) async -> Result<RPCCall, RPCError> {
        switch await authenticator.authenticate(token, type: nil, remoteHost: call.origin.remoteHost, via: .callToken, logger: call.logger) {
        case .failure(let e): return .failure(e)
        case .success(let principal):
            sessions.setPrincipal(call.connectionID, principal, sessionID: nil)
            if let required = entry.descriptor.minimumRole, principal.role < required {
                Authenticator.logDenied(("method", call.method), needs: required, principal, .callToken, call.origin.remoteHost, logger: call.logger)
                return .failure(.permissionDenied(required: required, actual: principal.role))
            }
            var authed = call
            authed.principal = principal
            return .success(authed)
        }
    }

    func internalError(_ error: any Error, _ call: RPCCall) -> RPCError {
        call.logger.error("method \(call.method) failed: \(error)")
        return .internalError("unexpected failure in \(call.method); see the server log (cid \(call.correlationID))")
    }

    static func run(_ body: () throws -> JSONValue, onError: (any Error) -> RPCError) -> Result<JSONValue, RPCError> {
        do { return .success(try body()) } catch let e as RPCError { return .failure(e) } catch { return .failure(onError(error)) }
    }

    static func runAsync(_ body: () async throws -> JSONValue, onError: (any Error) -> RPCError) async -> Result<JSONValue, RPCError> {
        do { return .success(try await body()) } catch let e as RPCError { return .failure(e) } catch { return .failure(onError(error)) }
    }

    static func encodeReply(id: JSONValue, _ result: Result<JSONValue, RPCError>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        switch result {
        case .success(let v): JSONRPC.appendResult(id: id, result: v, to: &out)
        case .failure(let e): JSONRPC.appendError(id: id, error: e, to: &out)
        }
        return out
    }

    func encode(id: JSONValue, _ result: Result<JSONValue, RPCError>) -> [UInt8] { RPCDispatcher.encodeReply(id: id, result) }
}

/// Hooks for metrics: told about every completed call and every rejected envelope.
package protocol RPCObserver: Sendable {
    func completed(method: String, error: Int?, seconds: Double)
    func rejected(_ error: RPCError)
}

extension RPCDispatcher {
    /// The metrics label of calls to methods that do not exist.
    package static let unknownMethodLabel = "(unknown)"
}

extension Result where Success == RPCDispatcher.Prepared, Failure == RPCError {
    /// The registered method, when the call got that far.
    var entry: MethodEntry? {
        guard case .success(let p) = self else { return nil }
        switch p {
        case .run(let e, _), .authenticateFirst(_, let e, _, _): return e
        }
    }
}

extension Result where Failure == RPCError {
    var failureCode: Int? { if case .failure(let e) = self { return e.code }; return nil }
}
