import Codecs

/// What a download answers for a file, decided from the request's conditional and `Range`
/// headers and the file's identity alone (no I/O): status, headers, and which bytes to send.
public struct DownloadPlan: Equatable, Sendable {
    public var status: Int
    public var headers: [(String, String)]
    /// The bytes to send (`length` 0 for 304 and 416).
    public var offset: Int
    public var length: Int

    /// The identity of the file being served (from `fstat` of the open descriptor).
    public struct FileIdentity: Sendable, Equatable {
        public var size: Int
        public var inode: UInt64
        public var modifiedNanoseconds: Int64
        public var contentType: String
        public init(size: Int, inode: UInt64, modifiedNanoseconds: Int64, contentType: String) {
            self.size = size
            self.inode = inode
            self.modifiedNanoseconds = modifiedNanoseconds
            self.contentType = contentType
        }
        /// A strong validator: changes with the inode, the size and the modification time.
        public var etag: String {
            "\"\(String(inode, radix: 16))-\(String(size, radix: 16))-\(String(UInt64(bitPattern: modifiedNanoseconds), radix: 16))\""
        }
        public var lastModified: String { HTTPDate.format(Double(modifiedNanoseconds / 1_000_000_000)) }
    }

    /// The answer to a `GET` or `HEAD` with `header` (lower-case name → first value).
    public static func make(_ file: FileIdentity, header: (String) -> String?) -> DownloadPlan {
        let etag = file.etag
        var headers: [(String, String)] = [("Content-Type", file.contentType), ("Accept-Ranges", "bytes"), ("ETag", etag),
                                           ("Last-Modified", file.lastModified), ("Cache-Control", "private, no-cache"),
                                           ("X-Content-Type-Options", "nosniff")]
        if notModified(file, etag: etag, header: header) {
            headers.removeFirst()  // a 304 describes the stored representation, sends none
            return DownloadPlan(status: 304, headers: headers, offset: 0, length: 0)
        }
        var range = ByteRange.parse(header("range"), size: file.size)
        // If-Range with another validator: the file changed since the client's part, send it all.
        if range != .whole, let ifRange = header("if-range")?.trimmingSpaces, ifRange != etag[...] {
            range = .whole
        }
        switch range {
        case .whole:
            return DownloadPlan(status: 200, headers: headers, offset: 0, length: file.size)
        case .partial(let first, let last):
            headers.append(("Content-Range", "bytes \(first)-\(last)/\(file.size)"))
            return DownloadPlan(status: 206, headers: headers, offset: first, length: last - first + 1)
        case .unsatisfiable:
            return DownloadPlan(status: 416, headers: [("Content-Range", "bytes */\(file.size)"), ("Accept-Ranges", "bytes")], offset: 0, length: 0)
        }
    }

    /// RFC 9110 §13.2.2: `If-None-Match` (weak comparison) wins over `If-Modified-Since`.
    static func notModified(_ file: FileIdentity, etag: String, header: (String) -> String?) -> Bool {
        if let inm = header("if-none-match") {
            let opaque = etag
            return inm.split(separator: ",").contains { tag in
                let t = tag.trimmingSpaces
                return t == "*" || t == opaque[...] || (t.hasPrefix("W/") && t.dropFirst(2) == opaque[...])
            }
        }
        if let ims = header("if-modified-since"), let since = HTTPDate.parse(String(ims.trimmingSpaces)) {
            return Double(file.modifiedNanoseconds / 1_000_000_000) <= since
        }
        return false
    }

    public static func == (a: DownloadPlan, b: DownloadPlan) -> Bool {
        a.status == b.status && a.offset == b.offset && a.length == b.length
            && a.headers.map { "\($0.0): \($0.1)" } == b.headers.map { "\($0.0): \($0.1)" }
    }
}
