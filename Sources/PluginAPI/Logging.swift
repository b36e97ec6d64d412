/// Severity of a log line, lowest first.
@frozen
public enum LogLevel: Int, Sendable, Comparable, CaseIterable {
    /// From least to most severe; ``name`` spells each in configuration and log lines.
    case trace, debug, info, notice, warning, error, critical

    /// The level's name in configuration and log lines.
    public var name: String {
        switch self {
        case .trace: return "trace"
        case .debug: return "debug"
        case .info: return "info"
        case .notice: return "notice"
        case .warning: return "warning"
        case .error: return "error"
        case .critical: return "critical"
        }
    }

    /// Parses a level name.
    public init?(name: String) {
        guard let l = LogLevel.allCases.first(where: { $0.name == name }) else { return nil }
        self = l
    }

    /// Less severe is smaller: trace < debug < … < critical.
    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rawValue < b.rawValue }
}

/// One log line as a value: a later minor version can add fields (a source location, a
/// timestamp taken at the call) without changing ``LogHandler``.
public struct LogEvent: Sendable {
    /// Severity.
    public var level: LogLevel
    /// The component the line comes from (plugin name, `host`, `rpc`, …).
    public var label: String
    /// The message.
    public var message: String
    /// `key=value` fields, in order (correlation id, device, …).
    public var metadata: [(String, String)]

    /// A line at `level` from `label`, with `metadata` fields.
    public init(level: LogLevel, label: String, message: String, metadata: [(String, String)] = []) {
        self.level = level
        self.label = label
        self.message = message
        self.metadata = metadata
    }
}

/// Where log lines go; the host provides one (JSON lines or text) chosen by configuration,
/// in the spirit of swift-log's `LogHandler`.
public protocol LogHandler: Sendable {
    /// Lines below this level are dropped before their message is built.
    var minimumLevel: LogLevel { get }
    /// Writes one line.
    func log(_ event: LogEvent)
}

/// A cheap value that tags lines with a label (the plugin or component) and metadata.
public struct Logger: Sendable {
    /// The component the lines come from.
    public let label: String
    /// Fields added to every line (e.g. the correlation id).
    public var metadata: [(String, String)]
    /// The destination.
    public let handler: any LogHandler

    /// A logger for `label` writing to `handler`, adding `metadata` to every line.
    public init(label: String, handler: any LogHandler, metadata: [(String, String)] = []) {
        self.label = label
        self.handler = handler
        self.metadata = metadata
    }

    /// A copy that adds `key=value` to every line.
    public func with(_ key: String, _ value: String) -> Logger {
        var copy = self
        copy.metadata.append((key, value))
        return copy
    }

    /// A copy with another label (a sub-component), keeping the handler and metadata.
    public func labelled(_ label: String) -> Logger { Logger(label: label, handler: handler, metadata: metadata) }

    /// Whether lines at `level` are written.
    @inlinable public func isEnabled(_ level: LogLevel) -> Bool { level >= handler.minimumLevel }

    /// Logs at `level`; the message is only built when the level is enabled.
    @inlinable
    public func log(_ level: LogLevel, _ message: @autoclosure () -> String, _ fields: [(String, String)] = []) {
        guard level >= handler.minimumLevel else { return }
        handler.log(LogEvent(level: level, label: label, message: message(), metadata: fields.isEmpty ? metadata : metadata + fields))
    }

    /// Logs at ``LogLevel/trace``; `f` adds fields to this line only.
    @inlinable public func trace(_ m: @autoclosure () -> String, _ f: [(String, String)] = []) { log(.trace, m(), f) }
    /// Logs at ``LogLevel/debug``; `f` adds fields to this line only.
    @inlinable public func debug(_ m: @autoclosure () -> String, _ f: [(String, String)] = []) { log(.debug, m(), f) }
    /// Logs at ``LogLevel/info``; `f` adds fields to this line only.
    @inlinable public func info(_ m: @autoclosure () -> String, _ f: [(String, String)] = []) { log(.info, m(), f) }
    /// Logs at ``LogLevel/notice``; `f` adds fields to this line only.
    @inlinable public func notice(_ m: @autoclosure () -> String, _ f: [(String, String)] = []) { log(.notice, m(), f) }
    /// Logs at ``LogLevel/warning``; `f` adds fields to this line only.
    @inlinable public func warning(_ m: @autoclosure () -> String, _ f: [(String, String)] = []) { log(.warning, m(), f) }
    /// Logs at ``LogLevel/error``; `f` adds fields to this line only.
    @inlinable public func error(_ m: @autoclosure () -> String, _ f: [(String, String)] = []) { log(.error, m(), f) }
    /// Logs at ``LogLevel/critical``; `f` adds fields to this line only.
    @inlinable public func critical(_ m: @autoclosure () -> String, _ f: [(String, String)] = []) { log(.critical, m(), f) }
}
