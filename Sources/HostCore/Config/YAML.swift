import CYaml
import PluginAPI

/// Where a config value came from, for error messages: `file:line:column` or an env variable.
package struct SourceMark: Sendable, Equatable, CustomStringConvertible {
    package var source: String
    package var line: Int
    package var column: Int
    package init(source: String, line: Int, column: Int) {
        self.source = source
        self.line = line
        self.column = column
    }
    package var description: String { line > 0 ? "\(source):\(line):\(column)" : source }
}

/// A YAML document as a tree of scalars, sequences and mappings, each with its position.
package indirect enum YAMLNode: Sendable {
    /// `plain` is false for quoted or block scalars, which are always strings.
    case scalar(String, plain: Bool, SourceMark)
    case sequence([YAMLNode], SourceMark)
    case mapping([(key: String, keyMark: SourceMark, value: YAMLNode)], SourceMark)

    package var mark: SourceMark {
        switch self {
        case .scalar(_, _, let m), .sequence(_, let m), .mapping(_, let m): return m
        }
    }

    /// The value of mapping key `key`.
    package subscript(key: String) -> YAMLNode? {
        guard case .mapping(let entries, _) = self else { return nil }
        return entries.last(where: { $0.key == key })?.value
    }

    /// True for a plain scalar spelling null (`~`, `null`, empty).
    package var isNull: Bool {
        if case .scalar(let s, true, _) = self { return s.isEmpty || s == "~" || s == "null" || s == "Null" || s == "NULL" }
        return false
    }

    /// The node as JSON (plugin configs are handed over this way): plain scalars become
    /// booleans, numbers or null where they read as such (YAML 1.2 core schema).
    package var json: JSONValue {
        switch self {
        case .scalar(let s, let plain, _):
            guard plain else { return .string(s) }
            if isNull { return .null }
            switch s {
            case "true", "True", "TRUE": return .bool(true)
            case "false", "False", "FALSE": return .bool(false)
            default: break
            }
            if let i = Int(s) { return .int(i) }
            if s.first.map({ $0.isNumber || $0 == "-" || $0 == "+" || $0 == "." }) == true, let d = Double(s), d.isFinite { return .double(d) }
            return .string(s)
        case .sequence(let items, _):
            return .array(items.map(\.json))
        case .mapping(let entries, _):
            var o = JSONObject()
            for e in entries { o[e.key] = e.value.json }
            return .object(o)
        }
    }
}

/// A configuration problem, located.
package struct ConfigError: Error, Sendable, CustomStringConvertible {
    package var mark: SourceMark
    package var message: String
    package init(_ mark: SourceMark, _ message: String) {
        self.mark = mark
        self.message = message
    }
    package var description: String { "\(mark): \(message)" }
}

/// Parses YAML text with libyaml's event API. Anchors and aliases are refused (configs do not
/// need them, and refusing them rules out alias bombs). An empty document is an empty mapping.
package enum YAMLParser {
    package static func parse(_ text: [UInt8], source: String) throws(ConfigError) -> YAMLNode {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) != 0 else { throw ConfigError(SourceMark(source: source, line: 0, column: 0), "cannot initialize the YAML parser") }
        defer { yaml_parser_delete(&parser) }
        let result: Result<YAMLNode, ConfigError> = text.withUnsafeBufferPointer { buf in
            yaml_parser_set_input_string(&parser, buf.baseAddress, buf.count)
            var builder = TreeBuilder(source: source)
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) != 0 else {
                    let problem = parser.problem.map { String(cString: $0) } ?? "syntax error"
                    let m = parser.problem_mark
                    return .failure(ConfigError(SourceMark(source: source, line: m.line + 1, column: m.column + 1), "YAML error: \(problem)"))
                }
                defer { yaml_event_delete(&event) }
                do throws(ConfigError) {
                    if try builder.handle(&event) { break }
                } catch {
                    return .failure(error)
                }
            }
            return .success(builder.root ?? .mapping([], SourceMark(source: source, line: 1, column: 1)))
        }
        return try result.get()
    }

    /// Builds the tree from the event stream with an explicit stack (no recursion on input depth).
    struct TreeBuilder {
        let source: String
        var root: YAMLNode?
        var stack: [Frame] = []
        var documents = 0

        enum Frame {
            case sequence([YAMLNode], SourceMark)
            case mapping([(key: String, keyMark: SourceMark, value: YAMLNode)], SourceMark, pendingKey: (String, SourceMark)?)
        }

        func mark(_ m: yaml_mark_t) -> SourceMark { SourceMark(source: source, line: m.line + 1, column: m.column + 1) }

        /// Returns true at the end of the stream.
        mutating func handle(_ e: inout yaml_event_t) throws(ConfigError) -> Bool {
            let m = mark(e.start_mark)
            switch e.type {
            case YAML_STREAM_END_EVENT: return true
            case YAML_DOCUMENT_START_EVENT:
                documents += 1
                if documents > 1 { throw ConfigError(m, "only one YAML document is allowed") }
            case YAML_ALIAS_EVENT:
                throw ConfigError(m, "YAML aliases are not supported here")
            case YAML_SCALAR_EVENT:
                if e.data.scalar.anchor != nil { throw ConfigError(m, "YAML anchors are not supported here") }
                let value = e.data.scalar.value.map { String(decoding: UnsafeBufferPointer(start: $0, count: e.data.scalar.length), as: UTF8.self) } ?? ""
                let plain = e.data.scalar.style == YAML_PLAIN_SCALAR_STYLE
                try add(.scalar(value, plain: plain, m))
            case YAML_SEQUENCE_START_EVENT:
                if stack.count > 64 { throw ConfigError(m, "nesting too deep") }
                stack.append(.sequence([], m))
            case YAML_MAPPING_START_EVENT:
                if stack.count > 64 { throw ConfigError(m, "nesting too deep") }
                stack.append(.mapping([], m, pendingKey: nil))
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                guard let top = stack.popLast() else { break }
                switch top {
                case .sequence(let items, let sm): try add(.sequence(items, sm))
                case .mapping(let entries, let mm, _): try add(.mapping(entries, mm))
                }
            default: break
            }
            return false
        }

        mutating func add(_ node: YAMLNode) throws(ConfigError) {
            guard let top = stack.popLast() else {
                root = node
                return
            }
            switch top {
            case .sequence(var items, let m):
                items.append(node)
                stack.append(.sequence(items, m))
            case .mapping(var entries, let m, let pending):
                if let (key, keyMark) = pending {
                    if entries.contains(where: { $0.key == key }) { throw ConfigError(keyMark, "duplicate key '\(key)'") }
                    entries.append((key, keyMark, node))
                    stack.append(.mapping(entries, m, pendingKey: nil))
                } else {
                    guard case .scalar(let key, _, let km) = node else { throw ConfigError(node.mark, "mapping keys must be plain strings") }
                    stack.append(.mapping(entries, m, pendingKey: (key, km)))
                }
            }
        }
    }
}
