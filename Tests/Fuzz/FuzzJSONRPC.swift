// libFuzzer target: JSON parsing and JSON-RPC envelope classification.
// Properties: never crashes; whatever parses re-serializes to text that parses back to an
// equal value; classification never throws.
import PluginAPI
import WireProtocols

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let value = try? JSONValue.parse(bytes, maxDepth: 64) {
        let text = value.jsonBytes
        guard let again = try? JSONValue.parse(text, maxDepth: 64) else { preconditionFailure("writer output does not parse") }
        precondition(again == value || !isFiniteEverywhere(value), "round trip changed the value")
    }
    _ = JSONRPC.decode(bytes)
    return 0
}

/// Doubles that are NaN/infinite cannot come out of the parser, but be explicit.
func isFiniteEverywhere(_ v: JSONValue) -> Bool {
    switch v {
    case .double(let d): return d.isFinite
    case .array(let a): return a.allSatisfy(isFiniteEverywhere)
    case .object(let o): return o.members.allSatisfy { isFiniteEverywhere($0.value) }
    default: return true
    }
}
