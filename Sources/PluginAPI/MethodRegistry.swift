/// The type a JSON-RPC parameter must have; the host checks it before calling the handler
/// and describes it in the generated OpenRPC document.
public indirect enum ParamType: Sendable, Equatable {
    /// A string, optionally matching a regular expression (ECMA-262, for documentation and
    /// checked by the host for the common anchored forms) and limited in length.
    case string(pattern: String? = nil, minLength: Int? = nil, maxLength: Int? = nil)
    /// A string that must be one of the given values.
    case enumeration([String])
    /// An integer within an optional closed range.
    case integer(minimum: Int? = nil, maximum: Int? = nil)
    /// Any JSON number within an optional closed range.
    case number(minimum: Double? = nil, maximum: Double? = nil)
    /// `true` or `false`.
    case boolean
    /// An array whose items all have one type, with optional bounds on the count.
    case array(of: ParamType, minItems: Int? = nil, maxItems: Int? = nil)
    /// A JSON object (checked by the handler).
    case object
    /// Any JSON value.
    case any
}

/// One by-name parameter of a method.
public struct ParamDescriptor: Sendable, Equatable {
    /// The member name in `params`.
    public var name: String
    /// The type the value must have.
    public var type: ParamType
    /// Whether the call must include it.
    public var required: Bool
    /// One line for the API documentation.
    public var summary: String

    /// Parameter `name` of `type`; optional and without a summary unless `required` and `summary` say otherwise.
    public init(_ name: String, _ type: ParamType, required: Bool = false, summary: String = "") {
        self.name = name
        self.type = type
        self.required = required
        self.summary = summary
    }
}

/// What the host needs to know about a JSON-RPC method besides its handler.
public struct MethodDescriptor: Sendable, Equatable {
    /// The method name, unique across the host and all plugins.
    public var name: String
    /// The lowest role allowed to call it; nil means no authentication is needed.
    public var minimumRole: Role?
    /// One line for the API documentation.
    public var summary: String
    /// The by-name parameters.
    public var params: [ParamDescriptor]

    /// Method `name`, callable from `minimumRole` up (nil: no authentication needed), with its `params`.
    public init(_ name: String, role minimumRole: Role?, summary: String = "", params: [ParamDescriptor] = []) {
        self.name = name
        self.minimumRole = minimumRole
        self.summary = summary
        self.params = params
    }
}

/// Where a call came from.
public struct CallOrigin: Sendable, Equatable {
    /// The peer's IP address.
    public var remoteHost: String
    /// The host name the client used to reach the daemon (its `Host` header without the
    /// port), nil when it sent none. Media backends use it for stream URLs.
    public var requestHost: String?
    /// An origin, field by field.
    public init(remoteHost: String, requestHost: String?) {
        self.remoteHost = remoteHost
        self.requestHost = requestHost
    }
}

/// One call of a method, as its handler sees it.
public struct RPCCall: Sendable {
    /// The method name.
    public var method: String
    /// The by-name parameters (empty when the request had none). Already checked against the
    /// method's ``ParamDescriptor``s.
    public var params: JSONObject
    /// The authenticated caller, or nil on a method that needs no authentication.
    public var principal: Principal?
    /// The connection the call came on (stable for its lifetime, never reused).
    public var connectionID: UInt64
    /// A correlation id for log lines about this call.
    public var correlationID: String
    /// A logger that tags every line with the correlation id.
    public var logger: Logger
    /// Where the call came from.
    public var origin: CallOrigin

    /// A call, field by field.
    public init(method: String, params: JSONObject, principal: Principal?, connectionID: UInt64,
                correlationID: String, logger: Logger, origin: CallOrigin) {
        self.method = method
        self.params = params
        self.principal = principal
        self.connectionID = connectionID
        self.correlationID = correlationID
        self.logger = logger
        self.origin = origin
    }
}

/// A method handler. It may suspend; the host runs it concurrently with other calls.
/// Throw ``RPCError`` for a contract error; any other error is reported as `-32603`.
public typealias RPCHandler = @Sendable (RPCCall) async throws -> JSONValue

/// A handler that never blocks and finishes in microseconds (e.g. a read of cached state). The
/// host may run it inline on the network thread, which saves a task hop per request.
public typealias RPCInlineHandler = @Sendable (RPCCall) throws -> JSONValue

/// Where the host and plugins register JSON-RPC methods. Registering a name twice is an error.
public protocol MethodRegistry: AnyObject, Sendable {
    /// Registers a method whose handler may suspend.
    func register(_ descriptor: MethodDescriptor, handler: @escaping RPCHandler) throws
    /// Registers a method whose handler never blocks (see ``RPCInlineHandler``).
    func registerInline(_ descriptor: MethodDescriptor, handler: @escaping RPCInlineHandler) throws
}

/// Thrown by ``MethodRegistry`` for a descriptor the host cannot enforce: a parameter
/// `pattern` outside the supported subset (see ``ParamType/string(pattern:minLength:maxLength:)``).
/// A parameter rule is checked exactly or the method is refused, never silently skipped.
public struct UnsupportedParamError: Error, Sendable, CustomStringConvertible {
    /// The method whose descriptor was refused.
    public let method: String
    /// The parameter at fault.
    public let param: String
    /// Why the host cannot enforce the parameter's rule.
    public let problem: String
    /// An error for parameter `param` of `method`, saying what is wrong.
    public init(method: String, param: String, problem: String) {
        self.method = method
        self.param = param
        self.problem = problem
    }
    /// `method '<method>', parameter '<param>': <problem>`.
    public var description: String { "method '\(method)', parameter '\(param)': \(problem)" }
}

/// Thrown by ``MethodRegistry`` when a method name is already taken.
public struct DuplicateMethodError: Error, Sendable, CustomStringConvertible {
    /// The method name.
    public let method: String
    /// Who registered it first.
    public let firstOwner: String
    /// Who tried again.
    public let secondOwner: String
    /// An error naming the method and both registrants.
    public init(method: String, firstOwner: String, secondOwner: String) {
        self.method = method
        self.firstOwner = firstOwner
        self.secondOwner = secondOwner
    }
    /// `JSON-RPC method '<method>' registered twice: by <firstOwner> and by <secondOwner>`.
    public var description: String {
        "JSON-RPC method '\(method)' registered twice: by \(firstOwner) and by \(secondOwner)"
    }
}
