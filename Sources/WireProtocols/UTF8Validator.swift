/// Incremental UTF-8 validation (Bjoern Hoehrmann's DFA), so a text message split across
/// WebSocket fragments fails as soon as an invalid byte arrives (RFC 6455 §8.1).
public struct UTF8Validator: Sendable {
    /// 0 = at a character boundary, 12 = rejected, anything else = inside a character.
    private var state: UInt8 = 0

    public init() {}

    /// True when everything fed so far is valid or a valid prefix.
    public var isValidPrefix: Bool { state != UTF8Validator.reject }
    /// True when everything fed so far is complete, valid UTF-8.
    public var isComplete: Bool { state == 0 }

    static let reject: UInt8 = 12

    /// Feeds bytes; returns false once the input can no longer be valid UTF-8.
    @discardableResult
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var s = state
        UTF8Validator.table.withUnsafeBufferPointer { t in
            var i = 0
            let n = bytes.count
            while i < n {
                let b = bytes[i]
                if s == 0 && b < 0x80 {  // ASCII fast path
                    i += 1
                    continue
                }
                s = t[256 + Int(s) + Int(t[Int(b)])]
                if s == UTF8Validator.reject { break }
                i += 1
            }
        }
        state = s
        return s != UTF8Validator.reject
    }

    /// Validates a complete buffer.
    public static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var v = UTF8Validator()
        return v.feed(bytes) && v.isComplete
    }

    // Character classes for each byte, then the transition table (states are multiples of 12).
    static let table: [UInt8] = [
        0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
        0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
        0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
        0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
        1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,
        7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,
        8,8,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,
        10,3,3,3,3,3,3,3,3,3,3,3,3,4,3,3,11,6,6,6,5,8,8,8,8,8,8,8,8,8,8,8,
        0,12,24,36,60,96,84,12,12,12,48,72,12,12,12,12,12,12,12,12,12,12,12,12,
        12,0,12,12,12,12,12,0,12,0,12,12,12,24,12,12,12,12,12,24,12,24,12,12,
        12,12,12,12,12,12,12,24,12,12,12,12,12,24,12,12,12,12,12,12,12,24,12,12,
        12,12,12,12,12,12,12,36,12,36,12,12,12,36,12,12,12,12,12,36,12,36,12,12,
        12,36,12,12,12,12,12,12,12,12,12,12,
    ]
}
