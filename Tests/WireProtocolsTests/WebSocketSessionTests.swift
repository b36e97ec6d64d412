import Testing
import WireProtocols

@Suite struct WebSocketSessionTests {
    @Test func maskedTextFrameIsAMessage() {
        var s = WebSocketSession()
        #expect(events(&s, clientFrame(0x1, text("hello"))) == [.message(text("hello"))])
    }

    @Test func byteByByteFeedingGivesTheSameMessage() {
        var s = WebSocketSession()
        var got: [WebSocketEvent] = []
        for b in clientFrame(0x1, text(String(repeating: "x", count: 300))) { got += events(&s, [b]) }
        #expect(got == [.message(Array(repeating: UInt8(ascii: "x"), count: 300))])
    }

    @Test func extendedLengthsAreParsed() {
        var s = WebSocketSession(limits: WebSocketLimits(maxMessageBytes: 200_000))
        let big = Array(repeating: UInt8(ascii: "a"), count: 70_000)
        #expect(events(&s, clientFrame(0x1, big)) == [.message(big)])
    }

    @Test func unmaskedClientFrameIsAProtocolError() {
        var s = WebSocketSession()
        #expect(closeCode(events(&s, clientFrame(0x1, text("hi"), masked: false)).first) == 1002)
        #expect(s.state == .closed)
    }

    @Test func fragmentsAreJoinedAndControlFramesMayInterleave() {
        var s = WebSocketSession()
        var got = events(&s, clientFrame(0x1, text("hel"), fin: false))
        got += events(&s, clientFrame(0x9, text("p")))
        got += events(&s, clientFrame(0x0, text("lo"), fin: false))
        got += events(&s, clientFrame(0x0, text("!")))
        #expect(got.count == 2)
        if case .send(let pong) = got[0] { #expect(pong == [0x8A, 0x01, UInt8(ascii: "p")]) } else { Issue.record("expected a pong") }
        #expect(got[1] == .message(text("hello!")))
    }

    @Test func pingIsAnsweredWithTheSamePayload() {
        var s = WebSocketSession()
        #expect(events(&s, clientFrame(0x9, text("abc"))) == [.send([0x8A, 3] + text("abc"))])
    }

    @Test func closeIsEchoedWithItsCode() {
        var s = WebSocketSession()
        let e = events(&s, clientFrame(0x8, [0x0B, 0xB8] + text("bye")))  // 3000
        #expect(e == [.closed(code: 3000, reply: [0x88, 0x02, 0x0B, 0xB8])])
        #expect(s.state == .closed)
    }

    @Test func emptyCloseIsAnsweredWith1000() {
        var s = WebSocketSession()
        #expect(events(&s, clientFrame(0x8, [])) == [.closed(code: 1000, reply: [0x88, 0x02, 0x03, 0xE8])])
    }

    @Test(arguments: [UInt16(999), 1004, 1005, 1006, 1015, 2000, 5000])
    func invalidCloseCodesAreProtocolErrors(code: UInt16) {
        var s = WebSocketSession()
        #expect(closeCode(events(&s, clientFrame(0x8, [UInt8(code >> 8), UInt8(code & 0xFF)])).first) == 1002)
    }

    @Test func oneByteCloseIsAProtocolError() {
        var s = WebSocketSession()
        #expect(closeCode(events(&s, clientFrame(0x8, [0x03])).first) == 1002)
    }

    @Test func closeReasonMustBeUTF8() {
        var s = WebSocketSession()
        #expect(closeCode(events(&s, clientFrame(0x8, [0x03, 0xE8, 0xC3, 0x28])).first) == 1007)
    }

    @Test func invalidUTF8TextIs1007() {
        var s = WebSocketSession()
        #expect(closeCode(events(&s, clientFrame(0x1, [0x68, 0xC3, 0x28])).first) == 1007)
    }

    @Test func invalidUTF8InAFragmentFailsBeforeTheMessageEnds() {
        var s = WebSocketSession()
        #expect(closeCode(events(&s, clientFrame(0x1, [0xED, 0xA0, 0x80], fin: false)).first) == 1007)  // a surrogate
    }

    @Test func messageEndingInsideACharacterIs1007() {
        var s = WebSocketSession()
        #expect(events(&s, clientFrame(0x1, [0x61, 0xE2, 0x82], fin: false)).isEmpty)
        #expect(closeCode(events(&s, clientFrame(0x0, [])).first) == 1007)
    }

    @Test func characterSplitAcrossFragmentsIsFine() {
        var s = WebSocketSession()
        #expect(events(&s, clientFrame(0x1, [0xE2, 0x82], fin: false)).isEmpty)
        #expect(events(&s, clientFrame(0x0, [0xAC])) == [.message([0xE2, 0x82, 0xAC])])
    }

    @Test func oversizeMessageIs1009WithoutBufferingIt() {
        var s = WebSocketSession(limits: WebSocketLimits(maxMessageBytes: 1024))
        let header = Array(clientFrame(0x1, Array(repeating: 0x61, count: 2000)).prefix(8))  // header + mask only
        #expect(closeCode(events(&s, header).first) == 1009)
    }

    @Test func oversizeAcrossFragmentsIs1009() {
        var s = WebSocketSession(limits: WebSocketLimits(maxMessageBytes: 1024))
        #expect(events(&s, clientFrame(0x1, Array(repeating: 0x61, count: 800), fin: false)).isEmpty)
        #expect(closeCode(events(&s, clientFrame(0x0, Array(repeating: 0x61, count: 800))).first) == 1009)
    }

    @Test func binaryIs1003() {
        var s = WebSocketSession()
        #expect(closeCode(events(&s, clientFrame(0x2, [1, 2, 3])).first) == 1003)
    }

    @Test(arguments: [UInt8(0x40), 0x20, 0x10])
    func reservedBitsAre1002(rsv: UInt8) {
        var s = WebSocketSession()
        #expect(closeCode(events(&s, clientFrame(0x1, text("x"), rsv: rsv)).first) == 1002)
    }

    @Test(arguments: [UInt8(3), 7, 0xB, 0xF])
    func reservedOpcodesAre1002(op: UInt8) {
        var s = WebSocketSession()
        #expect(closeCode(events(&s, clientFrame(op, [])).first) == 1002)
    }

    @Test func longControlFrameIs1002() {
        var s = WebSocketSession()
        #expect(closeCode(events(&s, clientFrame(0x9, Array(repeating: 0, count: 126))).first) == 1002)
    }

    @Test func fragmentedControlFrameIs1002() {
        var s = WebSocketSession()
        #expect(closeCode(events(&s, clientFrame(0x9, [], fin: false)).first) == 1002)
    }

    @Test func continuationWithoutStartIs1002() {
        var s = WebSocketSession()
        #expect(closeCode(events(&s, clientFrame(0x0, text("x"))).first) == 1002)
    }

    @Test func newMessageDuringFragmentsIs1002() {
        var s = WebSocketSession()
        _ = events(&s, clientFrame(0x1, text("a"), fin: false))
        #expect(closeCode(events(&s, clientFrame(0x1, text("b"))).first) == 1002)
    }

    @Test func nonMinimalLengthIs1002() {
        var s = WebSocketSession()
        // 5-byte payload announced with the 16-bit form.
        let frame: [UInt8] = [0x81, 0x80 | 126, 0, 5, 1, 2, 3, 4] + Array(repeating: 0, count: 5)
        #expect(closeCode(events(&s, frame).first) == 1002)
    }

    @Test func serverInitiatedCloseWaitsForThePeer() {
        var s = WebSocketSession()
        #expect(s.initiateClose(code: 1001) == [0x88, 0x02, 0x03, 0xE9])
        #expect(s.initiateClose(code: 1001) == nil)
        // Messages after our close are dropped; the peer's close ends it without a second reply.
        #expect(events(&s, clientFrame(0x1, text("late"))).isEmpty)
        #expect(events(&s, clientFrame(0x8, [0x03, 0xE9])) == [.closed(code: 1001, reply: nil)])
    }

    @Test func encoderUsesMinimalLengths() {
        var out: [UInt8] = []
        WebSocketFrameEncoder.append(opcode: .text, payload: Array(repeating: 0, count: 125), to: &out)
        #expect(Array(out.prefix(2)) == [0x81, 125])
        out = []
        WebSocketFrameEncoder.append(opcode: .text, payload: Array(repeating: 0, count: 126), to: &out)
        #expect(Array(out.prefix(4)) == [0x81, 126, 0, 126])
        out = []
        WebSocketFrameEncoder.append(opcode: .text, payload: Array(repeating: 0, count: 65536), to: &out)
        #expect(Array(out.prefix(10)) == [0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0])
    }

    @Test func closeReasonIsTruncatedBetweenCharacters() {
        let frame = WebSocketFrameEncoder.close(code: 1008, reason: String(repeating: "é", count: 100))
        #expect(frame.count <= 127)
        let reason = Array(frame.dropFirst(4))
        #expect(reason.withUnsafeBytes { UTF8Validator.isValid($0) })
    }

    @Test func keepalivePingsThenTimesOut() {
        var k = WebSocketKeepalive(interval: 30, timeout: 60, now: 0)
        #expect(k.tick(now: 10) == .none)
        guard case .sendPing(let frame) = k.tick(now: 31) else { Issue.record("expected a ping"); return }
        expectPingFrame(frame)
        #expect(k.tick(now: 40) == .none)  // one ping outstanding at a time
        #expect(k.tick(now: 60) == .none)  // the peer gets timeout - interval after the ping
        #expect(k.tick(now: 61) == .timedOut)
        k.heard(at: 61)
        #expect(k.tick(now: 62) == .none)
        // Heard again: the next ping goes out one interval later, a real frame again.
        #expect(k.tick(now: 90) == .none)
        guard case .sendPing(let again) = k.tick(now: 91) else { Issue.record("expected a second ping"); return }
        expectPingFrame(again)
    }

    /// What goes on the wire is one complete ping frame as RFC 6455 §5.5.2 has it: FIN set,
    /// opcode 0x9, unmasked (server to client), a control payload of at most 125 bytes, and
    /// nothing after it. A client answers it with a pong carrying the same payload.
    func expectPingFrame(_ frame: [UInt8]) {
        #expect(frame.count >= 2, "no frame: \(frame)")
        guard frame.count >= 2 else { return }
        #expect(frame[0] == 0x89, "not a final ping frame: first byte \(frame[0])")
        #expect(frame[1] & 0x80 == 0, "a server frame must not be masked")
        let length = Int(frame[1] & 0x7F)
        #expect(length <= 125 && frame.count == 2 + length, "payload length \(length) in a \(frame.count)-byte frame")
    }

    @Test func coarseTicksNeverDropAClientThatAnswers() {
        // interval 1 s, timeout 1.5 s, ticks 1 s apart: the client answers each ping 50 ms later.
        var k = WebSocketKeepalive(interval: 1, timeout: 1.5, now: 0)
        var now = 0.0
        for _ in 0..<20 {
            now += 0.99
            switch k.tick(now: now) {
            case .sendPing: k.heard(at: now + 0.05)
            case .timedOut: Issue.record("dropped at \(now)"); return
            case .none: break
            }
        }
    }
}
