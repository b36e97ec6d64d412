import PluginAPI
import Testing

@Suite struct JSONTests {
    @Test func roundTrip() throws {
        let text = #"{"a":[1,-2,3.5,true,false,null],"b":{"c":"d\"e\\f\n\u0001é𝄞"},"e":-9223372036854775808,"f":1e300}"#
        let v = try JSONValue.parse(text)
        #expect(v["a"] == [1, -2, 3.5, true, false, nil])
        #expect(v["b"]?["c"] == .string("d\"e\\f\n\u{01}é𝄞"))
        #expect(v["e"] == .int(Int.min))
        #expect(try JSONValue.parse(v.jsonString) == v)
    }

    @Test func escapesAndSurrogates() throws {
        #expect(try JSONValue.parse(#""\ud834\udd1e""#) == "𝄞")
        #expect(try JSONValue.parse(#""\/\b\f\r\t""#) == "/\u{08}\u{0C}\r\t")
    }

    @Test(arguments: ["", "1e400", "-1E999", "{", "[1,]", "{\"a\":1,}", "01", "1.", "-", "tru", "\"\\x\"", "\"\u{01}\"", "\"\\ud834\"", "\"\\udd1e\"",
                      "[1] x", "{\"a\" 1}", "nul", "1e", "\"abc"])
    func rejectsInvalid(text: String) {
        #expect(throws: JSONParseError.self) { try JSONValue.parse(text) }
    }

    @Test func depthIsLimited() {
        let deep = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        #expect(throws: JSONParseError.self) { try JSONValue.parse(deep, maxDepth: 128) }
        #expect((try? JSONValue.parse(deep, maxDepth: 256)) != nil)
    }

    @Test func manyKeysKeepTheLastDuplicate() throws {
        let keys = (0..<5000).map { "\"k\($0)\":\($0)" }.joined(separator: ",")
        let v = try JSONValue.parse("{\(keys),\"k7\":-1,\"k4999\":-2}")
        #expect(v.objectValue?.count == 5000)
        #expect(v["k7"] == -1 && v["k4999"] == -2 && v["k8"] == 8)
        #expect(try JSONValue.parse(#"{"a":1,"b":2,"a":3}"#)["a"] == 3)
    }

    @Test func bigIntegersBecomeDoubles() throws {
        #expect(try JSONValue.parse("18446744073709551616") == .double(18446744073709551616))
        #expect(try JSONValue.parse("9223372036854775807") == .int(Int.max))
    }

    @Test func writerOutput() {
        let v: JSONValue = ["s": "q\"\u{7}", "n": .double(.nan), "i": -42, "d": 0.5]
        #expect(v.jsonString == #"{"s":"q\"\u0007","n":null,"i":-42,"d":0.5}"#)
    }

    @Test func objectsCompareWithoutOrder() {
        #expect(JSONValue.object(["a": 1, "b": 2]) == JSONValue.object(["b": 2, "a": 1]))
        var o: JSONObject = ["a": 1]
        o["a"] = nil
        #expect(o.isEmpty)
    }

    @Test func rolesAndErrors() {
        #expect(Role.viewer < .operator && Role.operator < .admin)
        #expect(Role(name: "Admin") == nil)
        let e = RPCError.permissionDenied(required: .operator, actual: .viewer)
        #expect(e.json["data"]?["required_role"] == "operator")
        #expect(pluginAPIVersionParts(pluginAPIVersion).major == 1)
    }
}
