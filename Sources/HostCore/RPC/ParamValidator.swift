import PluginAPI

/// Checks `params` against a method's descriptors before its handler runs, so every method
/// reports bad input the same way: `-32602` with `data.param` and `data.rule`.
public enum ParamValidator {
    /// Members every method accepts besides its own (per-call authentication).
    static let universal: Set<String> = ["auth_token"]

    public static func validate(_ params: JSONValue?, for d: MethodDescriptor) throws(RPCError) -> JSONObject {
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
        for p in d.params {
            guard let v = object[p.name], !v.isNull else {
                if p.required { throw RPCError.invalidParams(param: p.name, rule: "required", detail: "'\(p.name)' is required") }
                continue
            }
            try check(v, p.type, name: p.name)
        }
        return object
    }

    static func check(_ v: JSONValue, _ t: ParamType, name: String) throws(RPCError) {
        func bad(_ rule: String, _ detail: String) -> RPCError { .invalidParams(param: name, rule: rule, detail: detail) }
        switch t {
        case .any: return
        case .object:
            guard case .object = v else { throw bad("type", "'\(name)' must be an object") }
        case .boolean:
            guard case .bool = v else { throw bad("type", "'\(name)' must be a boolean") }
        case .string(let pattern, let minLength, let maxLength):
            guard case .string(let s) = v else { throw bad("type", "'\(name)' must be a string") }
            let n = s.count
            if let minLength, n < minLength { throw bad("min_length", "'\(name)' must have at least \(minLength) characters") }
            if let maxLength, n > maxLength { throw bad("max_length", "'\(name)' must have at most \(maxLength) characters") }
            if let pattern, !SimplePattern.matches(pattern, s) { throw bad("pattern", "'\(name)' must match \(pattern)") }
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
        @unknown default:
            return  // a newer type this host does not know: the handler validates
        }
    }
}

/// The anchored patterns parameter descriptors use (`^camera[0-9]+$`, `^[a-z][a-z0-9_]{0,63}$`),
/// matched without a regex engine: a sequence of literal characters and character classes with
/// `+`, `*`, `?` or `{m,n}` quantifiers. An unsupported pattern matches everything (the handler
/// then validates), so a descriptor can never make a valid call fail.
public enum SimplePattern {
    /// Matching is on UTF-8 bytes: the patterns are ASCII, so any non-ASCII byte fails a class
    /// (comparing Characters would let `0` + a combining accent pass as a digit).
    struct Atom {
        var set: (UInt8) -> Bool
        var min: Int
        var max: Int
    }

    public static func matches(_ pattern: String, _ s: String) -> Bool {
        guard let atoms = compile(Array(pattern.utf8)) else { return true }
        return match(atoms[...], Array(s.utf8)[...])
    }

    static func match(_ atoms: ArraySlice<Atom>, _ bytes: ArraySlice<UInt8>) -> Bool {
        guard let a = atoms.first else { return bytes.isEmpty }
        var n = 0
        // Greedy with backtracking. Each pattern the descriptors use has at most two repeated
        // atoms over disjoint or nested classes, so this stays linear in practice; inputs are
        // also bounded by maxLength.
        while n < a.max && n < bytes.count && a.set(bytes[bytes.startIndex + n]) { n += 1 }
        while n >= a.min {
            if match(atoms.dropFirst(), bytes.dropFirst(n)) { return true }
            n -= 1
        }
        return false
    }

    static func compile(_ p: [UInt8]) -> [Atom]? {
        guard p.first == UInt8(ascii: "^"), p.last == UInt8(ascii: "$"), p.count >= 2 else { return nil }
        let body = Array(p[1..<(p.count - 1)])
        var atoms: [Atom] = []
        var i = 0
        while i < body.count {
            let set: (UInt8) -> Bool
            if body[i] == UInt8(ascii: "[") {
                guard let close = body[i...].firstIndex(of: UInt8(ascii: "]")) else { return nil }
                var ranges: [(UInt8, UInt8)] = []
                var j = i + 1
                while j < close {
                    if j + 2 < close, body[j + 1] == UInt8(ascii: "-") { ranges.append((body[j], body[j + 2])); j += 3 } else { ranges.append((body[j], body[j])); j += 1 }
                }
                set = { c in ranges.contains { c >= $0.0 && c <= $0.1 } }
                i = close + 1
            } else if Array("\\.()|".utf8).contains(body[i]) || body[i] >= 0x80 {
                return nil
            } else {
                let literal = body[i]
                set = { $0 == literal }
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
                    guard let first = parts.first, let a = Int(first) else { return nil }
                    lo = a
                    hi = parts.count > 1 ? (Int(parts[1]) ?? Int.max) : a
                    i = close + 1
                default: break
                }
            }
            atoms.append(Atom(set: set, min: lo, max: hi))
        }
        return atoms
    }
}
