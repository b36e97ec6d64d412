/// Why a JSON text could not be parsed, with the byte offset where it went wrong.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was wrong.
    public let reason: String
    /// Byte offset into the input.
    public let offset: Int
    /// An error of `reason` at byte `offset`.
    public init(reason: String, offset: Int) { self.reason = reason; self.offset = offset }
    /// `<reason> at byte <offset>`.
    public var description: String { "\(reason) at byte \(offset)" }
}

extension JSONValue {
    /// Parses one JSON text (RFC 8259). Nesting deeper than `maxDepth` is rejected so that
    /// hostile input cannot exhaust the stack.
    public static func parse(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = 128) throws(JSONParseError) -> JSONValue {
        var p = JSONByteParser(bytes: bytes, maxDepth: maxDepth)
        p.skipSpace()
        let v = try p.value(depth: 0)
        p.skipSpace()
        guard p.pos == p.end else { throw JSONParseError(reason: "unexpected data after the JSON value", offset: p.pos) }
        return v
    }

    /// Parses one JSON text from bytes.
    public static func parse(_ bytes: [UInt8], maxDepth: Int = 128) throws(JSONParseError) -> JSONValue {
        let result = bytes.withUnsafeBytes { raw in Result { () throws(JSONParseError) in try parse(raw, maxDepth: maxDepth) } }
        return try result.get()
    }

    /// Parses one JSON text from a string.
    public static func parse(_ text: String, maxDepth: Int = 128) throws(JSONParseError) -> JSONValue {
        try parse(Array(text.utf8), maxDepth: maxDepth)
    }
}

/// A recursive-descent parser over raw bytes; no Foundation, no intermediate copies.
struct JSONByteParser {
    let base: UnsafeRawBufferPointer
    var pos = 0
    let end: Int
    let maxDepth: Int

    init(bytes: UnsafeRawBufferPointer, maxDepth: Int) {
        base = bytes
        end = bytes.count
        self.maxDepth = maxDepth
    }

    @inline(__always) func peek() -> UInt8? { pos < end ? base[pos] : nil }

    @inline(__always) mutating func skipSpace() {
        while pos < end {
            let c = base[pos]
            if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { pos += 1 } else { return }
        }
    }

    func fail(_ reason: String) -> JSONParseError { JSONParseError(reason: reason, offset: pos) }

    mutating func value(depth: Int) throws(JSONParseError) -> JSONValue {
        guard let c = peek() else { throw fail("unexpected end of input") }
        switch c {
        case UInt8(ascii: "{"): return try object(depth: depth + 1)
        case UInt8(ascii: "["): return try array(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw fail("unexpected character")
        }
    }

    mutating func literal(_ word: StaticString) throws(JSONParseError) {
        let n = word.utf8CodeUnitCount
        guard end - pos >= n else { throw fail("invalid literal") }
        let w = word.utf8Start
        for i in 0..<n where base[pos + i] != w[i] { throw fail("invalid literal") }
        pos += n
    }

    mutating func object(depth: Int) throws(JSONParseError) -> JSONValue {
        guard depth <= maxDepth else { throw fail("nesting too deep") }
        pos += 1
        var obj = JSONObject()
        // Duplicate keys are found by a scan while objects are small and through an index once
        // they are not, so a hostile object with many keys costs linear, not quadratic, time.
        var index: [String: Int]?
        skipSpace()
        if peek() == UInt8(ascii: "}") { pos += 1; return .object(obj) }
        while true {
            skipSpace()
            guard peek() == UInt8(ascii: "\"") else { throw fail("expected a string key") }
            let key = try string()
            skipSpace()
            guard peek() == UInt8(ascii: ":") else { throw fail("expected ':'") }
            pos += 1
            skipSpace()
            let v = try value(depth: depth)
            // Duplicate keys: the last one wins, as in most parsers.
            if index == nil && obj.members.count >= 16 {
                var built: [String: Int] = [:]
                for (i, m) in obj.members.enumerated() { built[m.key] = i }
                index = built
            }
            if let existing = index != nil ? index?[key] : obj.members.firstIndex(where: { $0.key == key }) {
                obj.members[existing].value = v
            } else {
                index?[key] = obj.members.count
                obj.members.append((key, v))
            }
            skipSpace()
            guard let c = peek() else { throw fail("unterminated object") }
            pos += 1
            if c == UInt8(ascii: ",") { continue }
            if c == UInt8(ascii: "}") { return .object(obj) }
            pos -= 1
            throw fail("expected ',' or '}'")
        }
    }

    mutating func array(depth: Int) throws(JSONParseError) -> JSONValue {
        guard depth <= maxDepth else { throw fail("nesting too deep") }
        pos += 1
        var items: [JSONValue] = []
        skipSpace()
        if peek() == UInt8(ascii: "]") { pos += 1; return .array(items) }
        while true {
            skipSpace()
            items.append(try value(depth: depth))
            skipSpace()
            guard let c = peek() else { throw fail("unterminated array") }
            pos += 1
            if c == UInt8(ascii: ",") { continue }
            if c == UInt8(ascii: "]") { return .array(items) }
            pos -= 1
            throw fail("expected ',' or ']'")
        }
    }

    mutating func number() throws(JSONParseError) -> JSONValue {
        let start = pos
        var negative = false
        if base[pos] == UInt8(ascii: "-") { negative = true; pos += 1 }
        guard let first = peek(), first >= 0x30, first <= 0x39 else { throw fail("invalid number") }
        var magnitude: UInt64 = 0
        var overflow = false
        if first == 0x30 {
            pos += 1
            if let c = peek(), c >= 0x30, c <= 0x39 { throw fail("leading zero in number") }
        } else {
            while let c = peek(), c >= 0x30, c <= 0x39 {
                let (m1, o1) = magnitude.multipliedReportingOverflow(by: 10)
                let (m2, o2) = m1.addingReportingOverflow(UInt64(c - 0x30))
                if o1 || o2 { overflow = true } else { magnitude = m2 }
                pos += 1
            }
        }
        var isInteger = true
        if peek() == UInt8(ascii: ".") {
            isInteger = false
            pos += 1
            guard let c = peek(), c >= 0x30, c <= 0x39 else { throw fail("invalid fraction") }
            while let c = peek(), c >= 0x30, c <= 0x39 { pos += 1 }
        }
        if let e = peek(), e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            isInteger = false
            pos += 1
            if let s = peek(), s == UInt8(ascii: "+") || s == UInt8(ascii: "-") { pos += 1 }
            guard let c = peek(), c >= 0x30, c <= 0x39 else { throw fail("invalid exponent") }
            while let c = peek(), c >= 0x30, c <= 0x39 { pos += 1 }
        }
        if isInteger && !overflow {
            if negative {
                if magnitude <= UInt64(Int64.max) + 1 { return .int(magnitude == UInt64(Int64.max) + 1 ? Int.min : -Int(magnitude)) }
            } else if magnitude <= UInt64(Int.max) {
                return .int(Int(magnitude))
            }
        }
        // Non-integers and out-of-range integers: the stdlib parser is correctly rounded.
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: base[start..<pos]), as: UTF8.self)
        guard let d = Double(text) else { throw fail("invalid number") }
        // 1e400 would become infinity, which JSON cannot write back: refuse it here.
        guard d.isFinite else { pos = start; throw fail("number out of range") }
        return .double(d)
    }

    mutating func string() throws(JSONParseError) -> String {
        pos += 1  // opening quote
        let start = pos
        // Fast path: no escapes.
        while pos < end {
            let c = base[pos]
            if c == UInt8(ascii: "\"") {
                let s = String(decoding: UnsafeRawBufferPointer(rebasing: base[start..<pos]), as: UTF8.self)
                pos += 1
                return s
            }
            if c == UInt8(ascii: "\\") { break }
            if c < 0x20 { throw fail("control character in string") }
            pos += 1
        }
        var out = [UInt8](UnsafeRawBufferPointer(rebasing: base[start..<pos]))
        while pos < end {
            let c = base[pos]
            if c == UInt8(ascii: "\"") {
                pos += 1
                return String(decoding: out, as: UTF8.self)
            }
            if c < 0x20 { throw fail("control character in string") }
            if c != UInt8(ascii: "\\") { out.append(c); pos += 1; continue }
            pos += 1
            guard let e = peek() else { break }
            pos += 1
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if scalar >= 0xD800 && scalar < 0xDC00 {
                    // High surrogate: a low one must follow, else the text is not valid Unicode.
                    guard end - pos >= 6, base[pos] == UInt8(ascii: "\\"), base[pos + 1] == UInt8(ascii: "u") else {
                        throw fail("unpaired surrogate in string")
                    }
                    pos += 2
                    let low = try hex4()
                    guard low >= 0xDC00 && low < 0xE000 else { throw fail("unpaired surrogate in string") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if scalar >= 0xDC00 && scalar < 0xE000 {
                    throw fail("unpaired surrogate in string")
                }
                guard let u = Unicode.Scalar(scalar) else { throw fail("invalid escape") }
                appendUTF8(u.value, to: &out)
            default:
                pos -= 1
                throw fail("invalid escape")
            }
        }
        throw fail("unterminated string")
    }

    mutating func hex4() throws(JSONParseError) -> UInt32 {
        guard end - pos >= 4 else { throw fail("invalid \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = base[pos]
            let d: UInt8
            switch c {
            case 0x30...0x39: d = c - 0x30
            case 0x41...0x46: d = c - 0x41 + 10
            case 0x61...0x66: d = c - 0x61 + 10
            default: throw fail("invalid \\u escape")
            }
            v = v << 4 | UInt32(d)
            pos += 1
        }
        return v
    }
}

/// Appends the UTF-8 encoding of a valid Unicode scalar value.
@inline(__always)
func appendUTF8(_ v: UInt32, to out: inout [UInt8]) {
    switch v {
    case 0..<0x80: out.append(UInt8(v))
    case 0x80..<0x800:
        out.append(UInt8(0xC0 | (v >> 6))); out.append(UInt8(0x80 | (v & 0x3F)))
    case 0x800..<0x10000:
        out.append(UInt8(0xE0 | (v >> 12))); out.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
        out.append(UInt8(0x80 | (v & 0x3F)))
    default:
        out.append(UInt8(0xF0 | (v >> 18))); out.append(UInt8(0x80 | ((v >> 12) & 0x3F)))
        out.append(UInt8(0x80 | ((v >> 6) & 0x3F))); out.append(UInt8(0x80 | (v & 0x3F)))
    }
}
