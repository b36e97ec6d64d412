/// WebSocket opcodes (RFC 6455 §5.2).
public enum WebSocketOpcode: UInt8, Sendable {
    case continuation = 0x0, text = 0x1, binary = 0x2, close = 0x8, ping = 0x9, pong = 0xA

    /// Control frames are close, ping and pong.
    public var isControl: Bool { rawValue & 0x8 != 0 }
}

/// Close status codes used here (RFC 6455 §7.4.1).
public enum WebSocketCloseCode {
    public static let normal: UInt16 = 1000
    public static let goingAway: UInt16 = 1001
    public static let protocolError: UInt16 = 1002
    public static let unsupportedData: UInt16 = 1003
    public static let invalidPayload: UInt16 = 1007
    public static let policyViolation: UInt16 = 1008
    public static let messageTooBig: UInt16 = 1009
    public static let internalError: UInt16 = 1011

    /// Whether a peer may send `code` in a close frame (§7.4: 1004–1006 and 1015 are reserved
    /// for local use; 1000–2999 only as registered; 3000–4999 are for applications).
    public static func isValidOnWire(_ code: UInt16) -> Bool {
        switch code {
        case 1000...1003, 1007...1014: return true
        case 3000...4999: return true
        default: return false
        }
    }
}

/// Encodes server frames (never masked, §5.1).
public enum WebSocketFrameEncoder {
    /// Appends one complete frame.
    public static func append(opcode: WebSocketOpcode, payload: UnsafeRawBufferPointer, fin: Bool = true, to out: inout [UInt8]) {
        out.append((fin ? 0x80 : 0) | opcode.rawValue)
        let n = payload.count
        if n < 126 {
            out.append(UInt8(n))
        } else if n <= 0xFFFF {
            out.append(126)
            out.append(UInt8(n >> 8))
            out.append(UInt8(n & 0xFF))
        } else {
            out.append(127)
            for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: UInt64(n) >> UInt64(shift))) }
        }
        out.append(contentsOf: payload)
    }

    /// Appends a frame from a byte array.
    public static func append(opcode: WebSocketOpcode, payload: [UInt8], to out: inout [UInt8]) {
        payload.withUnsafeBytes { append(opcode: opcode, payload: $0, to: &out) }
    }

    /// A close frame with `code` and an optional reason (truncated to fit 125 bytes).
    public static func close(code: UInt16, reason: String = "") -> [UInt8] {
        var payload: [UInt8] = [UInt8(code >> 8), UInt8(code & 0xFF)]
        // At most 123 bytes of reason, cut between characters, never inside one.
        for scalar in reason.unicodeScalars {
            let bytes = Array(String(scalar).utf8)
            if payload.count + bytes.count > 125 { break }
            payload += bytes
        }
        var out: [UInt8] = []
        append(opcode: .close, payload: payload, to: &out)
        return out
    }

    /// The header length for a payload of `n` bytes (for sizing buffers).
    public static func headerLength(payload n: Int) -> Int { n < 126 ? 2 : (n <= 0xFFFF ? 4 : 10) }
}
