/// A JSON value, as exchanged in JSON-RPC params, results and events.
///
/// Integers and floating-point numbers are kept apart so that ids, sizes and counters
/// round-trip exactly. Frozen: its layout is part of the plugin ABI.
@frozen
public enum JSONValue: Sendable, Hashable {
    /// JSON `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// An integer (a number without fraction or exponent that fits in `Int`).
    case int(Int)
    /// Any other number (written as `null` when not finite).
    case double(Double)
    /// A string.
    case string(String)
    /// An array.
    case array([JSONValue])
    /// An object, members in order.
    case object(JSONObject)
}

/// A JSON object that keeps its members in insertion order (replies read the way they were built).
@frozen
public struct JSONObject: Sendable, Hashable, ExpressibleByDictionaryLiteral, Sequence {
    /// The members, in order. Keys are unique when built through the subscript.
    public var members: [(key: String, value: JSONValue)]

    /// An empty object.
    @inlinable public init() { members = [] }

    /// An object from ordered members (later duplicates replace earlier ones).
    @inlinable public init(_ pairs: [(String, JSONValue)]) {
        members = []
        members.reserveCapacity(pairs.count)
        for (k, v) in pairs { self[k] = v }
    }

    /// An object literal, e.g. `["device": "camera0", "fps": 30]`.
    @inlinable public init(dictionaryLiteral elements: (String, JSONValue)...) { self.init(elements) }

    /// The value for `key`, or nil; setting nil removes the member.
    @inlinable public subscript(key: String) -> JSONValue? {
        get {
            for m in members where m.key == key { return m.value }
            return nil
        }
        set {
            if let i = members.firstIndex(where: { $0.key == key }) {
                if let newValue { members[i].value = newValue } else { members.remove(at: i) }
            } else if let newValue {
                members.append((key, newValue))
            }
        }
    }

    /// The member keys, in order.
    @inlinable public var keys: [String] { members.map(\.key) }
    /// The number of members.
    @inlinable public var count: Int { members.count }
    /// True when the object has no members.
    @inlinable public var isEmpty: Bool { members.isEmpty }

    /// Iterates the members in order.
    @inlinable public func makeIterator() -> IndexingIterator<[(key: String, value: JSONValue)]> {
        members.makeIterator()
    }

    /// Order-insensitive equality, as JSON defines it.
    @inlinable public static func == (a: JSONObject, b: JSONObject) -> Bool {
        guard a.members.count == b.members.count else { return false }
        for m in a.members where b[m.key] != m.value { return false }
        return true
    }

    /// Hashes the members regardless of their order, consistent with `==`.
    @inlinable public func hash(into hasher: inout Hasher) {
        // Order-insensitive: combine per-member hashes commutatively.
        var acc = 0
        for m in members {
            var h = Hasher()
            h.combine(m.key)
            h.combine(m.value)
            acc ^= h.finalize()
        }
        hasher.combine(acc)
    }
}

extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    /// `nil` as `.null`.
    @inlinable public init(nilLiteral: ()) { self = .null }
    /// A Boolean literal as `.bool`.
    @inlinable public init(booleanLiteral value: Bool) { self = .bool(value) }
    /// An integer literal as `.int`.
    @inlinable public init(integerLiteral value: Int) { self = .int(value) }
    /// A floating-point literal as `.double`.
    @inlinable public init(floatLiteral value: Double) { self = .double(value) }
    /// A string literal as `.string`.
    @inlinable public init(stringLiteral value: String) { self = .string(value) }
    /// An array literal as `.array`.
    @inlinable public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    /// A dictionary literal as `.object`, members in order (later duplicates replace earlier ones).
    @inlinable public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(JSONObject(elements))
    }
}

extension JSONValue {
    /// The member `key` of an object, or nil for a missing member or a non-object.
    @inlinable public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }
    /// The string, or nil.
    @inlinable public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    /// The boolean, or nil.
    @inlinable public var boolValue: Bool? { if case .bool(let b) = self { return b }; return nil }
    /// The integer, also from a double with no fractional part; nil otherwise.
    @inlinable public var intValue: Int? {
        switch self {
        case .int(let i): return i
        case .double(let d) where d.rounded() == d && abs(d) < 9.0e15: return Int(d)
        default: return nil
        }
    }
    /// The number as a double, or nil.
    @inlinable public var doubleValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }
    /// The array, or nil.
    @inlinable public var arrayValue: [JSONValue]? { if case .array(let a) = self { return a }; return nil }
    /// The object, or nil.
    @inlinable public var objectValue: JSONObject? { if case .object(let o) = self { return o }; return nil }
    /// True for `.null`.
    @inlinable public var isNull: Bool { if case .null = self { return true }; return false }

    /// The JSON type name, for error messages ("string", "object", ...).
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .int, .double: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }
}
