// libFuzzer target: the WebSocket frame parser and session, fed in arbitrary chunks.
// Properties: never crashes or traps; after a failure or close nothing more is produced;
// every message is valid UTF-8 and within the size limit.
import PluginAPI
import WireProtocols

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    guard let first = bytes.first else { return 0 }
    let chunk = Int(first % 17) + 1  // first byte picks the split size
    var session = WebSocketSession(limits: WebSocketLimits(maxMessageBytes: 4096))
    var offset = 1
    var ended = false
    while offset < size {
        let end = min(size, offset + chunk)
        session.feed(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[offset..<end]))
        offset = end
        while let event = session.next() {
            precondition(!ended, "event after the connection ended")
            switch event {
            case .message(let m):
                precondition(m.count <= 4096, "oversize message")
                precondition(m.withUnsafeBytes { UTF8Validator.isValid($0) }, "invalid UTF-8 delivered")
            case .send(let frame):
                precondition(frame.first == 0x8A, "only pongs are sent")
            case .closed, .failed:
                ended = true
            }
        }
    }
    return 0
}
