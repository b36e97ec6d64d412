import Codecs
import Glibc

/// The JWT secret kept in the data directory when none is configured: 32 random bytes as hex,
/// made on first use with mode 0600 (`O_EXCL`, so two processes starting at once agree on one).
public struct SecretFile: Sendable {
    public let path: String
    public init(path: String) { self.path = path }

    public struct IOError: Error, CustomStringConvertible {
        public let description: String
    }

    /// A new random secret (hex text, as `openssl rand -hex 32` makes).
    public static func generate() -> [UInt8] { Array(Crypto.hex(Crypto.randomBytes(32)).utf8) }

    /// The secret, trailing whitespace trimmed; nil when the file does not exist.
    public func read() throws(IOError) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw IOError(description: "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 4096)
        var n = 0
        repeat { n = Glibc.read(fd, &buf, buf.count) } while n < 0 && errno == EINTR
        guard n >= 0 else { throw IOError(description: "cannot read \(path): \(String(cString: strerror(errno)))") }
        var bytes = Array(buf[0..<n])
        while let last = bytes.last, last == 0x0A || last == 0x0D || last == 0x20 { bytes.removeLast() }
        return bytes
    }

    /// The secret, made first when the file does not exist yet.
    public func readOrCreate() throws(IOError) -> [UInt8] {
        if let existing = try read() { return existing }
        let secret = Self.generate()
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd < 0 {
            if errno == EEXIST, let other = try read() { return other }  // another process made it first
            throw IOError(description: "cannot create \(path): \(String(cString: strerror(errno)))")
        }
        let line = secret + [0x0A]
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == line.count, synced else {
            unlink(path)
            throw IOError(description: "cannot write \(path): \(String(cString: strerror(errno)))")
        }
        return secret
    }
}
