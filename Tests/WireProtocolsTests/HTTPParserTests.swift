import Testing
import WireProtocols

@Suite struct HTTPParserTests {
    func parse(_ text: String, limits: HTTPLimits = HTTPLimits()) -> Result<[HTTPRequest], HTTPParseError> {
        var p = HTTPParser(limits: limits)
        Array(text.utf8).withUnsafeBytes { p.feed($0) }
        var out: [HTTPRequest] = []
        do {
            while let r = try p.next() { out.append(r) }
        } catch {
            return .failure(error)
        }
        return .success(out)
    }

    func status(_ text: String, limits: HTTPLimits = HTTPLimits()) -> Int? {
        if case .failure(let e) = parse(text, limits: limits) { return e.status }
        return nil
    }

    @Test func simpleGet() throws {
        let rs = try parse("GET /health?verbose=1 HTTP/1.1\r\nHost: x\r\nX-Thing:  a b  \r\n\r\n").get()
        #expect(rs.count == 1)
        #expect(rs[0].method == "GET" && rs[0].path == "/health" && rs[0].query == "verbose=1")
        #expect(rs[0].header("x-thing") == "a b")
        #expect(rs[0].keepAlive)
    }

    @Test func pipelinedRequestsWithBodies() throws {
        let rs = try parse("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").get()
        #expect(rs.map(\.path) == ["/a", "/b"])
        #expect(rs[0].body == Array("abc".utf8))
        #expect(!rs[1].keepAlive)
    }

    @Test func byteByByte() throws {
        var p = HTTPParser()
        var got: [HTTPRequest] = []
        for b in Array("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi".utf8) {
            [b].withUnsafeBytes { p.feed($0) }
            if let r = try p.next() { got.append(r) }
        }
        #expect(got.count == 1 && got[0].body == Array("hi".utf8))
    }

    @Test func remainderAfterARequestIsKept() throws {
        var p = HTTPParser()
        Array("GET /ws HTTP/1.1\r\nHost: x\r\n\r\n\u{81}\u{05}".utf8).withUnsafeBytes { p.feed($0) }
        _ = try p.next()
        #expect(p.takeRemainder() == Array("\u{81}\u{05}".utf8))
    }

    @Test func http10KeepAliveRules() throws {
        #expect(try !parse("GET / HTTP/1.0\r\n\r\n").get()[0].keepAlive)
        #expect(try parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").get()[0].keepAlive)
    }

    @Test(arguments: [
        ("GET /\r\n\r\n", 400),
        ("GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\n\r\n", 400),                           // no Host
        ("GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
        ("GET / FTP/1.1\r\nHost: x\r\n\r\n", 400),
        ("GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        ("G@T / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400),               // space before colon
        ("GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400),     // obsolete line folding
        ("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 501),
        ("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n", 413),
    ])
    func badRequests(text: String, expected: Int) {
        #expect(status(text) == expected)
    }

    @Test func headerLimits() {
        let many = "GET / HTTP/1.1\r\nHost: x\r\n" + (0..<150).map { "X-\($0): y\r\n" }.joined() + "\r\n"
        #expect(status(many) == 431)
        let huge = "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + String(repeating: "a", count: 20_000) + "\r\n\r\n"
        #expect(status(huge) == 431)
        #expect(status("GET /" + String(repeating: "a", count: 20_000)) == 414)
    }

    @Test func failedParserStaysFailed() throws {
        var p = HTTPParser()
        Array("BAD\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8).withUnsafeBytes { p.feed($0) }
        #expect(throws: HTTPParseError.self) { try p.next() }
        #expect((try? p.next()) == .some(nil))
    }

    @Test func responseSerialization() {
        let r = HTTPResponse(status: 404, headers: [("Content-Type", "application/json")], body: Array("{}".utf8))
        let text = String(decoding: r.serialize(keepAlive: false), as: UTF8.self)
        #expect(text == "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
        #expect(!String(decoding: r.serialize(keepAlive: true, headOnly: true), as: UTF8.self).hasSuffix("{}"))
    }
}
