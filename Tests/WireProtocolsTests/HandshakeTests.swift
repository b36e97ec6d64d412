import Codecs
import Testing
import WireProtocols

@Suite struct HandshakeTests {
    func request(_ headers: [(String, String)], method: String = "GET", minor: Int = 1) -> HTTPRequest {
        HTTPRequest(method: method, target: "/ws", minorVersion: minor, headers: headers)
    }
    let good: [(String, String)] = [("Host", "x"), ("Upgrade", "websocket"), ("Connection", "keep-alive, Upgrade"),
                                     ("Sec-WebSocket-Version", "13"), ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")]

    @Test func rfcSampleKey() {
        #expect(WebSocketHandshake.acceptValue(forKey: "dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        guard case .accept(let r) = WebSocketHandshake.respond(to: request(good), allowedOrigins: []) else {
            Issue.record("expected accept"); return
        }
        #expect(r.status == 101)
        #expect(r.headers.contains { $0.0 == "Sec-WebSocket-Accept" && $0.1 == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" })
    }

    func status(_ o: WebSocketHandshake.Outcome) -> Int {
        switch o {
        case .accept(let r), .reject(let r): return r.status
        }
    }

    @Test func versionOtherThan13Is426() {
        var h = good
        h[3] = ("Sec-WebSocket-Version", "8")
        #expect(status(WebSocketHandshake.respond(to: request(h), allowedOrigins: [])) == 426)
    }

    @Test(arguments: ["", "short", "dGhlIHNhbXBsZSBub25jZQ", "AAAAAAAAAAAAAAAAAAAAAAAA"])
    func malformedKeyIs400(key: String) {
        var h = good
        h[4] = ("Sec-WebSocket-Key", key)
        #expect(status(WebSocketHandshake.respond(to: request(h), allowedOrigins: [])) == 400)
    }

    @Test func missingUpgradeTokenIs400() {
        var h = good
        h[2] = ("Connection", "keep-alive")
        #expect(status(WebSocketHandshake.respond(to: request(h), allowedOrigins: [])) == 400)
    }

    @Test func postIs405() {
        #expect(status(WebSocketHandshake.respond(to: request(good, method: "POST"), allowedOrigins: [])) == 405)
    }

    @Test func originPolicy() {
        let allowed = ["https://app.example"]
        #expect(status(WebSocketHandshake.respond(to: request(good + [("Origin", "https://evil.example")]), allowedOrigins: allowed)) == 403)
        #expect(status(WebSocketHandshake.respond(to: request(good + [("Origin", "https://app.example")]), allowedOrigins: allowed)) == 101)
        #expect(status(WebSocketHandshake.respond(to: request(good), allowedOrigins: allowed)) == 101)  // no Origin: not a browser
    }
}

@Suite struct CodecTests {
    @Test func base64Vectors() {
        let vectors = [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")]
        for (plain, encoded) in vectors {
            #expect(Base64.encode(Array(plain.utf8)) == encoded)
            #expect(Base64.decode(encoded) == Array(plain.utf8))
        }
        #expect(Base64.encode([0xFB, 0xFF], urlSafe: true) == "-_8")
        #expect(Base64.decode("-_8", urlSafe: true) == [0xFB, 0xFF])
    }

    @Test(arguments: ["Zg=", "Zm9v!", "Zh==", "Z===", "Zm9vYmFy===="])
    func base64RejectsMalformed(s: String) {
        #expect(Base64.decode(s) == nil)
    }

    @Test func utf8Validation() {
        let valid: [[UInt8]] = [[], Array("héllo €𝄞".utf8), [0xEF, 0xBB, 0xBF], [0xF4, 0x8F, 0xBF, 0xBF]]
        let invalid: [[UInt8]] = [[0xC0, 0x80], [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xFF], [0x80], [0xE2, 0x82]]
        for v in valid { #expect(v.withUnsafeBytes { UTF8Validator.isValid($0) }, "\(v)") }
        for v in invalid { #expect(!v.withUnsafeBytes { UTF8Validator.isValid($0) }, "\(v)") }
    }

    @Test func sha1AndHMACKnownAnswers() {
        #expect(Crypto.hex(Digest.sha1(Array("abc".utf8))) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        let mac = Array("The quick brown fox jumps over the lazy dog".utf8).withUnsafeBytes { Crypto.hmacSHA256(key: Array("key".utf8), message: $0) }
        #expect(Crypto.hex(mac) == "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8")
    }
}
