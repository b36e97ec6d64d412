import COpenSSL

/// A TLS problem at start-up (bad certificate or key): a configuration error.
package struct TLSConfigError: Error, Sendable, CustomStringConvertible {
    package let message: String
    package var description: String { message }
}

/// The server's TLS configuration: one `SSL_CTX` (TLS 1.2 and later) from PEM files.
final class TLSContext {
    let ctx: OpaquePointer

    init(certFile: String, keyFile: String) throws(TLSConfigError) {
        guard let ctx = SSL_CTX_new(TLS_server_method()) else { throw TLSConfigError(message: "TLS: cannot create a context: \(TLSContext.lastError())") }
        self.ctx = ctx
        _ = SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, Int(TLS1_2_VERSION), nil)
        guard SSL_CTX_use_certificate_chain_file(ctx, certFile) == 1 else {
            throw TLSConfigError(message: "TLS: cannot use certificate \(certFile): \(TLSContext.lastError())")
        }
        guard SSL_CTX_use_PrivateKey_file(ctx, keyFile, SSL_FILETYPE_PEM) == 1 else {
            throw TLSConfigError(message: "TLS: cannot use private key \(keyFile): \(TLSContext.lastError())")
        }
        guard SSL_CTX_check_private_key(ctx) == 1 else {
            throw TLSConfigError(message: "TLS: \(keyFile) does not match \(certFile)")
        }
    }

    deinit { SSL_CTX_free(ctx) }

    static func lastError() -> String {
        let code = ERR_get_error()
        guard code != 0 else { return "unknown error" }
        var buf = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buf, buf.count)
        return cString(buf)
    }
}

/// One TLS connection driven through memory BIOs, sans I/O: ciphertext in, plaintext out,
/// plaintext in, ciphertext out. The event loop moves the bytes; OpenSSL never touches the socket.
final class TLSSession {
    private let ssl: OpaquePointer
    private let rbio: OpaquePointer
    private let wbio: OpaquePointer
    /// Set once the peer closed TLS or the session failed.
    private(set) var failure: String?

    init?(_ context: TLSContext) {
        guard let ssl = SSL_new(context.ctx), let r = BIO_new(BIO_s_mem()), let w = BIO_new(BIO_s_mem()) else { return nil }
        self.ssl = ssl
        rbio = r
        wbio = w
        SSL_set_bio(ssl, r, w)  // ssl owns both BIOs now
        SSL_set_accept_state(ssl)
    }

    deinit { SSL_free(ssl) }

    /// Whether the handshake has completed (application data can be encrypted).
    var handshakeDone: Bool { SSL_is_init_finished(ssl) == 1 }

    /// Takes ciphertext from the socket; returns the plaintext it carried (possibly none, e.g.
    /// during the handshake). Handshake records to send back are in ``takeOutput()``.
    func receive(_ ciphertext: UnsafeRawBufferPointer) -> [UInt8] {
        var offset = 0
        while offset < ciphertext.count {
            let n = BIO_write(rbio, ciphertext.baseAddress.map { $0 + offset }, Int32(ciphertext.count - offset))
            if n <= 0 { break }
            offset += Int(n)
        }
        var plain: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while failure == nil {
            let n = SSL_read(ssl, &chunk, Int32(chunk.count))
            if n > 0 {
                plain.append(contentsOf: chunk[0..<Int(n)])
                continue
            }
            switch SSL_get_error(ssl, n) {
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE: return plain
            case SSL_ERROR_ZERO_RETURN: failure = "peer closed TLS"
            default: failure = "TLS error: \(TLSContext.lastError())"
            }
        }
        return plain
    }

    /// Encrypts application data; the records are in ``takeOutput()``.
    func send(_ plaintext: [UInt8]) {
        guard failure == nil, !plaintext.isEmpty else { return }
        let n = plaintext.withUnsafeBytes { SSL_write(ssl, $0.baseAddress, Int32($0.count)) }
        if n <= 0 { failure = "TLS write failed: \(TLSContext.lastError())" }
    }

    /// Ciphertext waiting to go to the socket (handshake and application records).
    func takeOutput() -> [UInt8] {
        let pending = Int(BIO_ctrl_pending(wbio))
        guard pending > 0 else { return [] }
        var out = [UInt8](repeating: 0, count: pending)
        let n = BIO_read(wbio, &out, Int32(pending))
        return n > 0 ? Array(out.prefix(Int(n))) : []
    }
}
