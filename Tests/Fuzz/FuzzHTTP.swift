// libFuzzer target: the HTTP/1.1 request parser and the WebSocket handshake on what it parses.
// Properties: never crashes; error statuses are the documented ones; a request's body length
// respects the limit.
import PluginAPI
import WireProtocols

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let raw = UnsafeRawBufferPointer(start: data, count: size)
    var parser = HTTPParser(limits: HTTPLimits(maxHeaderBytes: 2048, maxHeaderCount: 20, maxBodyBytes: 512))
    let half = size / 2
    parser.feed(UnsafeRawBufferPointer(rebasing: raw[0..<half]))
    var fed = false
    while true {
        do {
            guard let request = try parser.next() else {
                if fed { break }
                parser.feed(UnsafeRawBufferPointer(rebasing: raw[half..<size]))
                fed = true
                continue
            }
            precondition(request.body.count <= 512)
            _ = WebSocketHandshake.respond(to: request, allowedOrigins: ["https://a.example"])
            _ = request.keepAlive
        } catch {
            precondition([400, 413, 414, 431, 501, 505].contains(error.status), "unexpected status \(error.status)")
            break
        }
    }
    return 0
}
