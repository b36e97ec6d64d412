import CLinux
import Glibc

/// Socket set-up: the listening socket and per-connection options.
enum Sockets {
    /// A non-blocking listening socket on host:port (IPv4 or IPv6 literal, or a name).
    static func listen(host: String, port: Int, backlog: Int32 = 4096) throws(SystemError) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var res: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host.isEmpty ? nil : host, String(port), &hints, &res)
        guard rc == 0, let info = res else {
            throw SystemError("getaddrinfo \(host): \(String(cString: gai_strerror(rc)))", errno: EINVAL)
        }
        defer { freeaddrinfo(res) }
        let fd = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
            let e = SystemError("bind \(host):\(port)")
            close(fd)
            throw e
        }
        guard Glibc.listen(fd, backlog) == 0 else {
            let e = SystemError("listen")
            close(fd)
            throw e
        }
        return fd
    }

    /// The port a socket is bound to (for `port: 0` in tests).
    static func boundPort(_ fd: Int32) -> Int {
        var addr = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        if Int32(addr.ss_family) == AF_INET6 {
            return withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) } }
        }
        return withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) } }
    }

    /// The peer's numeric address, port, and the key the per-address limit counts (the IPv4
    /// address; an IPv6 address's /64; IPv4-mapped IPv6 as IPv4). Straight from the bytes:
    /// it runs for every accepted connection, refused ones included.
    static func describe(_ addr: inout sockaddr_storage) -> (host: String, port: String, key: String) {
        withUnsafePointer(to: &addr) { raw -> (String, String, String) in
            if Int32(raw.pointee.ss_family) == AF_INET {
                return raw.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                    let host = ipv4(sin.pointee.sin_addr.s_addr)
                    return (host, String(UInt16(bigEndian: sin.pointee.sin_port)), host)
                }
            }
            guard Int32(raw.pointee.ss_family) == AF_INET6 else { return ("unknown", "0", "unknown") }
            return raw.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                var a = sin6.pointee.sin6_addr
                let port = String(UInt16(bigEndian: sin6.pointee.sin6_port))
                let b = withUnsafeBytes(of: &a) { Array($0) }
                if b[0..<10].allSatisfy({ $0 == 0 }) && b[10] == 0xFF && b[11] == 0xFF {
                    let v4 = b[12..<16].map(String.init).joined(separator: ".")
                    return (v4, port, v4)
                }
                var buf = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
                let host = inet_ntop(AF_INET6, &a, &buf, socklen_t(buf.count)) != nil ? cString(buf) : "unknown"
                return (host, port, AdmissionControl.prefix64(b))
            }
        }
    }

    /// Dotted IPv4 from an address in network order.
    static func ipv4(_ s: in_addr_t) -> String {
        let v = UInt32(bigEndian: s)
        return "\(v >> 24).\((v >> 16) & 0xFF).\((v >> 8) & 0xFF).\(v & 0xFF)"
    }

    static func setNoDelay(_ fd: Int32) {
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Raises the soft open-files limit to the hard limit; returns (before, after).
    static func raiseFileLimit() -> (Int, Int) {
        var lim = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &lim) == 0 else { return (0, 0) }
        let before = Int(lim.rlim_cur)
        if lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &lim)
            _ = getrlimit(Int32(RLIMIT_NOFILE.rawValue), &lim)
        }
        return (before, Int(lim.rlim_cur))
    }
}

/// A NUL-terminated C buffer as a String.
func cString(_ buf: [CChar]) -> String {
    let bytes = buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
    return String(decoding: bytes, as: UTF8.self)
}
