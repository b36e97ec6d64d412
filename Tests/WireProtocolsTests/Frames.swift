import WireProtocols

/// Builds client frames (masked unless told otherwise), as a real client would send them.
func clientFrame(_ opcode: UInt8, _ payload: [UInt8], fin: Bool = true, masked: Bool = true, rsv: UInt8 = 0,
                 mask: [UInt8] = [0x37, 0xFA, 0x21, 0x3D]) -> [UInt8] {
    var out: [UInt8] = [(fin ? 0x80 : 0) | rsv | opcode]
    let m: UInt8 = masked ? 0x80 : 0
    let n = payload.count
    if n < 126 {
        out.append(m | UInt8(n))
    } else if n <= 0xFFFF {
        out += [m | 126, UInt8(n >> 8), UInt8(n & 0xFF)]
    } else {
        out.append(m | 127)
        for s in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: n >> s)) }
    }
    if masked {
        out += mask
        for (i, b) in payload.enumerated() { out.append(b ^ mask[i & 3]) }
    } else {
        out += payload
    }
    return out
}

func text(_ s: String) -> [UInt8] { Array(s.utf8) }

/// Feeds bytes to a session and collects every event.
func events(_ session: inout WebSocketSession, _ bytes: [UInt8]) -> [WebSocketEvent] {
    bytes.withUnsafeBytes { session.feed($0) }
    var out: [WebSocketEvent] = []
    while let e = session.next() { out.append(e) }
    return out
}

/// The close code of a `.failed` or `.closed` event, nil otherwise.
func closeCode(_ e: WebSocketEvent?) -> UInt16? {
    switch e {
    case .failed(let code, _, _)?: return code
    case .closed(let code, _)?: return code
    default: return nil
    }
}
