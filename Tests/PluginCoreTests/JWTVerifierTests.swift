import Codecs
import JWTAuthCore
import PluginAPI
import Testing

@Suite struct JWTVerifierTests {
    let secret = Array("0123456789abcdef0123456789abcdef-test".utf8)
    let now = 1_800_000_000.0
    var verifier: JWTVerifier { JWTVerifier(secret: secret, clockSkew: 30) }

    func claims(_ extra: JSONObject = [:], drop: String? = nil) -> JSONObject {
        var c: JSONObject = ["user_id": "alice", "role": "operator", "iat": .int(Int(now) - 10), "exp": .int(Int(now) + 3600)]
        for m in extra { c[m.key] = m.value }
        if let drop { c[drop] = nil }
        return c
    }

    /// A token with an arbitrary header, signed with `key`.
    func forge(header: String, payload: JSONObject, key: [UInt8]? = nil) -> String {
        let h = Base64.encode(Array(header.utf8), urlSafe: true)
        let p = Base64.encode(JSONValue.object(payload).jsonBytes, urlSafe: true)
        let mac = Array("\(h).\(p)".utf8).withUnsafeBytes { Crypto.hmacSHA256(key: key ?? secret, message: $0) }
        return "\(h).\(p).\(Base64.encode(mac, urlSafe: true))"
    }

    func rejection(_ token: String) -> JWTRejection? {
        do { _ = try verifier.verify(token, now: now); return nil } catch { return error }
    }

    @Test func validToken() throws {
        let p = try verifier.verify(verifier.sign(claims: claims()), now: now)
        #expect(p.userID == "alice" && p.role == .operator && p.authType == .jwt)
    }

    @Test(arguments: ["none", "None", "NONE", "HS384", "hs384", "hs256", "RS256", "HS512", ""])
    func otherAlgorithmsAreRejected(alg: String) {
        #expect(rejection(forge(header: #"{"alg":"\#(alg)","typ":"JWT"}"#, payload: claims())) == .algorithm(alg))
    }

    @Test func unsignedNoneTokenIsRejected() {
        let h = Base64.encode(Array(#"{"alg":"none"}"#.utf8), urlSafe: true)
        let p = Base64.encode(JSONValue.object(claims()).jsonBytes, urlSafe: true)
        #expect(rejection("\(h).\(p).") == .algorithm("none"))
    }

    @Test func badSignature() {
        #expect(rejection(forge(header: #"{"alg":"HS256"}"#, payload: claims(), key: Array("another-secret-another-secret-xx".utf8))) == .badSignature)
        var token = verifier.sign(claims: claims())
        token.removeLast()
        #expect(rejection(token + (token.hasSuffix("A") ? "B" : "A")) != nil)
    }

    @Test(arguments: ["a.b", "a.b.c.d", "!!!.e30.x", "e30.!!!.x", "e30.e30.*", "e30=.e30.e30"])
    func malformed(token: String) {
        guard case .malformed? = rejection(token) else { Issue.record("expected malformed for \(token)"); return }
    }

    @Test func headerMustBeJSONWithAlg() {
        guard case .malformed? = rejection(forge(header: "[1]", payload: claims())) else { Issue.record("array header"); return }
        guard case .malformed? = rejection(forge(header: #"{"typ":"JWT"}"#, payload: claims())) else { Issue.record("no alg"); return }
        guard case .malformed? = rejection(forge(header: #"{"alg":"HS256","crit":["x"]}"#, payload: claims())) else { Issue.record("crit"); return }
    }

    @Test(arguments: [
        ("user_id", JSONValue.int(5)), ("user_id", ""), ("role", "root"), ("role", 1), ("iat", "1"), ("exp", "2"), ("exp", true), ("nbf", "x"),
        ("exp", .double(1e19)), ("exp", .int(-5)), ("iat", .double(1e300)),
    ])
    func wrongClaimTypes(name: String, value: JSONValue) {
        guard case .claim? = rejection(verifier.sign(claims: claims([name: value]))) else { Issue.record("\(name)=\(value)"); return }
    }

    @Test(arguments: ["user_id", "role", "iat", "exp"])
    func missingClaims(name: String) {
        guard case .claim? = rejection(verifier.sign(claims: claims(drop: name))) else { Issue.record("missing \(name)"); return }
    }

    @Test func expiryAndSkew() {
        #expect(rejection(verifier.sign(claims: claims(["exp": .int(Int(now) - 31)]))) == .expired)
        #expect(rejection(verifier.sign(claims: claims(["exp": .int(Int(now) - 29)]))) == nil)  // within skew
        #expect(rejection(verifier.sign(claims: claims(["nbf": .int(Int(now) + 60)]))) == .notYetValid)
        #expect(rejection(verifier.sign(claims: claims(["nbf": .int(Int(now) + 20)]))) == nil)
        #expect(rejection(verifier.sign(claims: claims(["iat": .int(Int(now) + 600)]))) == .notYetValid)
    }

    @Test func oversizeToken() {
        #expect(rejection(verifier.sign(claims: claims(["pad": .string(String(repeating: "x", count: 9000))]))) == .tooLarge)
    }

    @Test func secretPolicy() {
        #expect(SecretPolicy.problem(with: []) != nil)
        #expect(SecretPolicy.problem(with: Array("changeme".utf8)) != nil)
        #expect(SecretPolicy.problem(with: Array("short-but-random-Zx81".utf8)) != nil)
        #expect(SecretPolicy.problem(with: Array(repeating: UInt8(ascii: "a"), count: 40)) != nil)
        #expect(SecretPolicy.problem(with: Array("3f9d0c4b8e1a7f2d6c5b4a3928171605ffeeddcc".utf8)) == nil)
    }
}
