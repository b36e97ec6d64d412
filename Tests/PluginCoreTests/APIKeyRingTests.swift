import JWTAuthCore
import PluginAPI
import Testing

@Suite struct APIKeyRingTests {
    @Test func mintVerifyRevoke() throws {
        var ring = APIKeyRing()
        let (key, record) = ring.add(role: .operator, expiresAt: nil, description: "robot", now: 100)
        #expect(key.hasPrefix("csk_\(record.id)_"))
        let p = try ring.verify(key, now: 200)
        #expect(p.role == .operator && p.authType == .apiKey && p.userID == "api_key:\(record.id)")
        let revoked = ring.revoke(id: record.id, now: 300)
        #expect(revoked)
        #expect(throws: APIKeyRejection.revoked) { try ring.verify(key, now: 400) }
        let again = ring.revoke(id: record.id, now: 500)
        #expect(!again)
    }

    @Test func rejections() {
        var ring = APIKeyRing()
        let (key, _) = ring.add(role: .viewer, expiresAt: 1000, description: "", now: 0)
        #expect(throws: APIKeyRejection.expired) { try ring.verify(key, now: 1000) }
        #expect(throws: APIKeyRejection.unknown) { try ring.verify(String(key.dropLast()) + (key.hasSuffix("A") ? "B" : "A"), now: 1) }
        #expect(throws: APIKeyRejection.unknown) { try ring.verify("csk_00000000_secret", now: 1) }
        #expect(throws: APIKeyRejection.malformed) { try ring.verify("csk_nounderscore", now: 1) }
        #expect(throws: APIKeyRejection.malformed) { try ring.verify("token", now: 1) }
    }

    @Test func fileFormatRoundTripsWithoutSecrets() throws {
        var ring = APIKeyRing()
        let (key, record) = ring.add(role: .admin, expiresAt: 5e9, description: "a \"quoted\" one", now: 1)
        let bytes = ring.serialize()
        let text = String(decoding: bytes, as: UTF8.self)
        // The secret is base64url and may itself hold "_": it is everything after `csk_<id>_`.
        let secret = String(key.dropFirst(APIKeyRing.prefix.count + record.id.count + 1))
        #expect(secret.count == 43 && !text.contains(secret))
        let back = try APIKeyRing.parse(bytes)
        #expect(back == ring)
        #expect((try? back.verify(key, now: 2))?.role == .admin)
        #expect(throws: APIKeyRing.FormatError.self) { try APIKeyRing.parse(Array("{\"keys\":[]}".utf8)) }
        #expect(try APIKeyRing.parse(Array("\n".utf8)).records.isEmpty)
    }

    @Test func ttl() {
        #expect(parseTTL("90d") == 90 * 86400 && parseTTL("1h") == 3600 && parseTTL("30") == 30)
        #expect(parseTTL("soon") == nil && parseTTL("-1h") == nil && parseTTL("0") == nil)
        #expect(parseTTL("1e300d") == nil && parseTTL("101y") == nil && parseTTL("inf") == nil && parseTTL("36500d") != nil)
    }
}
