// libFuzzer target: the JWT verifier on arbitrary tokens. Property: never crashes, and never
// accepts a token that was not signed with the secret (random input cannot forge HMAC-SHA256).
import JWTAuthCore
import PluginAPI

let verifier = JWTVerifier(secret: Array("fuzz-secret-0123456789abcdef0123456789".utf8))

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let token = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    if (try? verifier.verify(token, now: 1_800_000_000)) != nil {
        preconditionFailure("accepted an unsigned token")
    }
    return 0
}
