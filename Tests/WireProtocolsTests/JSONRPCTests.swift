import PluginAPI
import Testing
import WireProtocols

@Suite struct JSONRPCTests {
    func decode(_ s: String) -> JSONRPCMessage { JSONRPC.decode(Array(s.utf8)) }

    @Test func requestAndNotification() {
        #expect(decode(#"{"jsonrpc":"2.0","method":"ping","id":7}"#) == .single(.call(id: 7, method: "ping", params: nil)))
        #expect(decode(#"{"jsonrpc":"2.0","method":"ping"}"#) == .single(.call(id: nil, method: "ping", params: nil)))
        #expect(decode(#"{"jsonrpc":"2.0","method":"x","id":null,"params":{"a":1}}"#) == .single(.call(id: .null, method: "x", params: ["a": 1])))
    }

    func code(_ m: JSONRPCMessage) -> Int? {
        switch m {
        case .rejected(let e): return e.code
        case .single(.invalid(_, let e)): return e.code
        default: return nil
        }
    }

    @Test func envelopeErrors() {
        #expect(code(decode("{")) == -32700)
        #expect(code(decode("[]")) == -32600)
        #expect(code(decode("5")) == -32600)
        #expect(code(decode(#"{"jsonrpc":"1.0","method":"x","id":1}"#)) == -32600)
        #expect(code(decode(#"{"method":"x","id":1}"#)) == -32600)
        #expect(code(decode(#"{"jsonrpc":"2.0","method":5,"id":1}"#)) == -32600)
        #expect(code(decode(#"{"jsonrpc":"2.0","method":"x","id":{}}"#)) == -32600)
        #expect(code(decode(#"{"jsonrpc":"2.0","method":"x","params":"p","id":1}"#)) == -32600)
    }

    @Test func invalidEnvelopeKeepsAReadableID() {
        #expect(decode(#"{"jsonrpc":"1.0","method":"x","id":"abc"}"#) == .single(.invalid(id: "abc", error: .invalidRequest("'jsonrpc' must be \"2.0\""))))
    }

    @Test func batchItemsAreCheckedOneByOne() {
        guard case .batch(let items) = decode(#"[1,{"jsonrpc":"2.0","method":"ping","id":1}]"#) else { Issue.record("batch"); return }
        #expect(items.count == 2)
        if case .invalid(let id, let e) = items[0] { #expect(id == .null && e.code == -32600) } else { Issue.record("invalid item") }
        #expect(items[1] == .call(id: 1, method: "ping", params: nil))
    }

    @Test func repliesCarryOnlyTheContractMembers() throws {
        var out: [UInt8] = []
        JSONRPC.appendResult(id: "a", result: "pong", to: &out)
        #expect(try JSONValue.parse(out) == ["jsonrpc": "2.0", "id": "a", "result": "pong"])
        out = []
        JSONRPC.appendError(id: .null, error: .methodNotFound("nope"), to: &out)
        let v = try JSONValue.parse(out)
        #expect(v.objectValue?.keys.sorted() == ["error", "id", "jsonrpc"])
        #expect(v["error"]?["data"]?["method"] == "nope")
    }
}
