import Glibc

/// The API key file on disk: read, and written atomically (temp file, fsync, rename) with
/// mode 0600 so the hashes are not world-readable.
public struct APIKeyFile: Sendable {
    public let path: String
    public init(path: String) { self.path = path }

    public struct IOError: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    /// The ring, empty when the file does not exist yet.
    public func load() throws -> APIKeyRing {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return APIKeyRing() }
            throw IOError(message: "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &chunk, chunk.count)
            if n < 0 { if errno == EINTR { continue }; throw IOError(message: "cannot read \(path)") }
            if n == 0 { break }
            bytes += chunk[0..<n]
            if bytes.count > 16 << 20 { throw IOError(message: "\(path) is too large") }
        }
        do { return try APIKeyRing.parse(bytes) } catch { throw IOError(message: "\(path): \(error)") }
    }

    public func save(_ ring: APIKeyRing) throws {
        let tmp = "\(path).tmp-\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw IOError(message: "cannot create \(tmp): \(String(cString: strerror(errno)))") }
        let bytes = ring.serialize()
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { b in write(fd, b.baseAddress.map { $0 + off }, b.count - off) }
            if n < 0 {
                if errno == EINTR { continue }
                close(fd)
                unlink(tmp)
                throw IOError(message: "cannot write \(tmp): \(String(cString: strerror(errno)))")
            }
            off += n
        }
        fchmod(fd, 0o600)
        let synced = fsync(fd) == 0
        close(fd)
        guard synced, rename(tmp, path) == 0 else {
            unlink(tmp)
            throw IOError(message: "cannot replace \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// A cheap change stamp (mtime and size), to reload only when the file changed.
    public func stamp() -> [Int] {
        var st = stat()
        guard stat(path, &st) == 0 else { return [] }
        return [Int(st.st_mtim.tv_sec), Int(st.st_mtim.tv_nsec), Int(st.st_size), Int(st.st_ino)]
    }
}
