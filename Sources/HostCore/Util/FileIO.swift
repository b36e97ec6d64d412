import Glibc

/// A failed system call, with errno's text.
package struct SystemError: Error, Sendable, CustomStringConvertible {
    package let call: String
    package let errno: Int32
    package init(_ call: String, errno: Int32 = Glibc.errno) {
        self.call = call
        self.errno = errno
    }
    package var description: String { "\(call): \(String(cString: strerror(errno)))" }
}

/// The few file operations the host needs, without Foundation (it would add ~15 MB of RSS).
package enum FileIO {
    package static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    package static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    package static func read(_ path: String, limit: Int = 16 << 20) throws(SystemError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemError("open \(path)") }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError("read \(path)")
            }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<n])
            if out.count > limit { throw SystemError("read \(path): larger than \(limit) bytes", errno: EFBIG) }
        }
        return out
    }

    /// Writes via a temporary file and rename, so readers see the old or the new file, never half.
    package static func writeAtomically(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644) throws(SystemError) {
        let tmp = path + ".tmp-\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw SystemError("open \(tmp)") }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { b in Glibc.write(fd, b.baseAddress.map { $0 + written }, b.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                let e = SystemError("write \(tmp)")
                close(fd)
                unlink(tmp)
                throw e
            }
            written += n
        }
        guard fsync(fd) == 0 else {
            let e = SystemError("fsync \(tmp)")
            close(fd)
            unlink(tmp)
            throw e
        }
        close(fd)
        guard rename(tmp, path) == 0 else {
            let e = SystemError("rename \(tmp)")
            unlink(tmp)
            throw e
        }
    }

    /// Creates `path` and its missing parents (like `mkdir -p`); an existing directory is fine.
    package static func makeDirectories(_ path: String, mode: mode_t = 0o755) throws(SystemError) {
        if isDirectory(path) { return }
        let parent = dirname(path)
        if parent != path && parent != "." && parent != "/" { try makeDirectories(parent, mode: mode) }
        guard mkdir(path, mode) == 0 || errno == EEXIST else { throw SystemError("mkdir \(path)") }
    }

    /// The directory part of a path (`.` for a bare name).
    package static func dirname(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    /// `path` made absolute against `base` when relative.
    package static func resolve(_ path: String, against base: String) -> String {
        path.hasPrefix("/") ? path : (base == "." ? path : base + "/" + path)
    }

    /// The directory holding the running executable.
    package static func executableDirectory() -> String {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        guard n > 0 else { return "." }
        return dirname(String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    /// The process environment as a dictionary.
    package static func environment() -> [String: String] {
        var env: [String: String] = [:]
        var p = environ
        while let entry = p.pointee {
            let s = String(cString: entry)
            if let eq = s.firstIndex(of: "=") { env[String(s[..<eq])] = String(s[s.index(after: eq)...]) }
            p += 1
        }
        return env
    }
}

/// When the running executable was last written (its build time), seconds since the epoch.
package func executableModificationTime() -> Double {
    var st = stat()
    guard stat("/proc/self/exe", &st) == 0 else { return 0 }
    return Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9
}
