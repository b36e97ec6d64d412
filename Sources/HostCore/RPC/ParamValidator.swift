import PluginAPI

/// A method's parameter rules, compiled when the method is registered: a rule the host cannot
/// enforce exactly (an unsupported pattern) fails the registration instead of matching
/// everything later.
struct CompiledParams: Sendable {
    struct Param: Sendable {
        let name: String
        let required: Bool
        let type: CompiledType
    }
    indirect enum CompiledType: Sendable {
        case any, object, boolean
        case string(pattern: SimplePattern?, source: String?, minLength: Int?, maxLength: Int?)
        case enumeration([String])
        case integer(minimum: Int?, maximum: Int?)
        case number(minimum: Double?, maximum: Double?)
        case array(of: CompiledType, minItems: Int?, maxItems: Int?)
    }
    let params: [Param]

    init(_ d: MethodDescriptor) throws(UnsupportedParamError) {
        var out: [Param] = []
        for p in d.params {
            out.append(Param(name: p.name, required: p.required, type: try CompiledParams.compile(p.type, method: d.name, param: p.name)))
        }
        params = out
    }

    static func compile(_ t: ParamType, method: String, param: String) throws(UnsupportedParamError) -> CompiledType {
        switch t {
        case .any: return .any
        case .object: return .object
        case .boolean: return .boolean
        case .string(let pattern, let minLength, let maxLength):
            guard let pattern else { return .string(pattern: nil, source: nil, minLength: minLength, maxLength: maxLength) }
            guard let compiled = SimplePattern(pattern) else {
                throw UnsupportedParamError(method: method, param: param, problem: "pattern \(pattern) is outside the subset the host enforces (anchored literals and [classes] with ?, *, +, {m,n})")
            }
            return .string(pattern: compiled, source: pattern, minLength: minLength, maxLength: maxLength)
        case .enumeration(let values): return .enumeration(values)
        case .integer(let lo, let hi): return .integer(minimum: lo, maximum: hi)
        case .number(let lo, let hi): return .number(minimum: lo, maximum: hi)
        case .array(let item, let lo, let hi): return .array(of: try compile(item, method: method, param: param), minItems: lo, maxItems: hi)
        @unknown default:
            throw UnsupportedParamError(method: method, param: param, problem: "a parameter type this host does not know")
        }
    }
}

/// Checks `params` against a method's compiled rules before its handler runs, so every method
/// reports bad input the same way: `-32602` with `data.param` and `data.rule`.
package enum ParamValidator {
    static func validate(_ params: JSONValue?, _ rules: CompiledParams) throws(RPCError) -> JSONObject {
        let object: JSONObject
        switch params {
        case nil, .null: object = JSONObject()
        case .object(let o): object = o
        case .array(let a) where a.isEmpty: object = JSONObject()
        case .array:
            throw RPCError.invalidParams(param: "params", rule: "by_name", detail: "parameters must be passed by name, as an object")
        default:
            throw RPCError.invalidParams(param: "params", rule: "type", detail: "params must be an object")
        }
        for p in rules.params {
            guard let v = object[p.name], !v.isNull else {
                if p.required { throw RPCError.invalidParams(param: p.name, rule: "required", detail: "'\(p.name)' is required") }
                continue
            }
            try check(v, p.type, name: p.name)
        }
        return object
    }

    static func check(_ v: JSONValue, _ t: CompiledParams.CompiledType, name: String) throws(RPCError) {
        func bad(_ rule: String, _ detail: String) -> RPCError { .invalidParams(param: name, rule: rule, detail: detail) }
        switch t {
        case .any: return
        case .object:
            guard case .object = v else { throw bad("type", "'\(name)' must be an object") }
        case .boolean:
            guard case .bool = v else { throw bad("type", "'\(name)' must be a boolean") }
        case .string(let pattern, let source, let minLength, let maxLength):
            guard case .string(let s) = v else { throw bad("type", "'\(name)' must be a string") }
            let n = s.count
            if let minLength, n < minLength { throw bad("min_length", "'\(name)' must have at least \(minLength) characters") }
            if let maxLength, n > maxLength { throw bad("max_length", "'\(name)' must have at most \(maxLength) characters") }
            if let pattern, !pattern.matches(s) { throw bad("pattern", "'\(name)' must match \(source ?? "")") }
        case .enumeration(let values):
            guard case .string(let s) = v else { throw bad("type", "'\(name)' must be a string") }
            guard values.contains(s) else { throw bad("enum", "'\(name)' must be one of \(values.joined(separator: ", "))") }
        case .integer(let lo, let hi):
            guard case .int(let i) = v else {
                if case .double(let d) = v, d.rounded() == d, abs(d) < 9e15 { return try check(.int(Int(d)), t, name: name) }
                throw bad("type", "'\(name)' must be an integer")
            }
            if let lo, i < lo { throw bad("minimum", "'\(name)' must be at least \(lo)") }
            if let hi, i > hi { throw bad("maximum", "'\(name)' must be at most \(hi)") }
        case .number(let lo, let hi):
            guard let d = v.doubleValue else { throw bad("type", "'\(name)' must be a number") }
            if let lo, d < lo { throw bad("minimum", "'\(name)' must be at least \(lo)") }
            if let hi, d > hi { throw bad("maximum", "'\(name)' must be at most \(hi)") }
        case .array(let item, let minItems, let maxItems):
            guard case .array(let a) = v else { throw bad("type", "'\(name)' must be an array") }
            if let minItems, a.count < minItems { throw bad("min_items", "'\(name)' must have at least \(minItems) items") }
            if let maxItems, a.count > maxItems { throw bad("max_items", "'\(name)' must have at most \(maxItems) items") }
            for (i, e) in a.enumerated() { try check(e, item, name: "\(name)[\(i)]") }
        }
    }
}

/// The anchored patterns parameter descriptors use (`^camera[0-9]+$`, `^[a-z][a-z0-9_]{0,63}$`),
/// matched without a regex engine: a sequence of literal ASCII characters and bracket classes
/// (ranges and single characters), each with an optional `?`, `*`, `+`, `{m}`, `{m,}` or
/// `{m,n}`. That subset is matched exactly as ECMA-262 would; anything else (escapes, `.`,
/// alternation, groups, negated classes, non-ASCII) does not compile, so a descriptor that
/// uses it is refused at registration rather than enforced loosely.
package struct SimplePattern: Sendable {
    /// Matching is on UTF-8 bytes: the patterns are ASCII, so any non-ASCII byte fails a class
    /// (comparing Characters would let `0` + a combining accent pass as a digit).
    struct Atom: Sendable {
        var ranges: [ClosedRange<UInt8>]
        var min: Int
        var max: Int
        func accepts(_ c: UInt8) -> Bool { ranges.contains { $0.contains(c) } }
    }
    let atoms: [Atom]

    /// Nil for a pattern outside the subset.
    package init?(_ pattern: String) {
        guard let atoms = SimplePattern.compile(Array(pattern.utf8)) else { return nil }
        self.atoms = atoms
    }

    package func matches(_ s: String) -> Bool { SimplePattern.match(atoms[...], Array(s.utf8)[...]) }

    static func match(_ atoms: ArraySlice<Atom>, _ bytes: ArraySlice<UInt8>) -> Bool {
        guard let a = atoms.first else { return bytes.isEmpty }
        var n = 0
        // Greedy with backtracking. Each pattern the descriptors use has at most two repeated
        // atoms over disjoint or nested classes, so this stays linear in practice; inputs are
        // also bounded by maxLength.
        while n < a.max && n < bytes.count && a.accepts(bytes[bytes.startIndex + n]) { n += 1 }
        while n >= a.min {
            if match(atoms.dropFirst(), bytes.dropFirst(n)) { return true }
            n -= 1
        }
        return false
    }

    static func compile(_ p: [UInt8]) -> [Atom]? {
        guard p.first == UInt8(ascii: "^"), p.last == UInt8(ascii: "$"), p.count >= 2 else { return nil }
        let body = Array(p[1..<(p.count - 1)])
        let special = Array("\\.()|^$[]{}*+?".utf8)
        var atoms: [Atom] = []
        var i = 0
        while i < body.count {
            var ranges: [ClosedRange<UInt8>] = []
            if body[i] == UInt8(ascii: "[") {
                guard let close = body[(i + 1)...].firstIndex(of: UInt8(ascii: "]")), close > i + 1, body[i + 1] != UInt8(ascii: "^") else { return nil }
                var j = i + 1
                while j < close {
                    let c = body[j]
                    guard c >= 0x20, c < 0x7F, c != UInt8(ascii: "\\"), c != UInt8(ascii: "[") else { return nil }
                    if j + 2 < close, body[j + 1] == UInt8(ascii: "-") {
                        guard body[j + 2] >= c, body[j + 2] < 0x7F, body[j + 2] != UInt8(ascii: "\\") else { return nil }
                        ranges.append(c...body[j + 2])
                        j += 3
                    } else {
                        ranges.append(c...c)
                        j += 1
                    }
                }
                i = close + 1
            } else {
                let c = body[i]
                guard c >= 0x20, c < 0x7F, !special.contains(c) else { return nil }
                ranges.append(c...c)
                i += 1
            }
            var lo = 1, hi = 1
            if i < body.count {
                switch body[i] {
                case UInt8(ascii: "+"): lo = 1; hi = Int.max; i += 1
                case UInt8(ascii: "*"): lo = 0; hi = Int.max; i += 1
                case UInt8(ascii: "?"): lo = 0; hi = 1; i += 1
                case UInt8(ascii: "{"):
                    guard let close = body[i...].firstIndex(of: UInt8(ascii: "}")) else { return nil }
                    let parts = String(decoding: body[(i + 1)..<close], as: UTF8.self).split(separator: ",", omittingEmptySubsequences: false)
                    guard parts.count <= 2, let first = parts.first, let a = Int(first), a >= 0 else { return nil }
                    lo = a
                    if parts.count == 1 { hi = a } else if parts[1].isEmpty { hi = Int.max } else {
                        guard let b = Int(parts[1]), b >= a else { return nil }
                        hi = b
                    }
                    i = close + 1
                default: break
                }
                // A quantifier on a quantifier (`a+?`, `a{2}*`) is not in the subset.
                if i < body.count, Array("+*?{".utf8).contains(body[i]) { return nil }
            }
            atoms.append(Atom(ranges: ranges, min: lo, max: hi))
        }
        return atoms
    }
}
