/// Limits the HTTP parser enforces; every one has its own status code.
public struct HTTPLimits: Sendable {
    /// Request line + headers, bytes (431 beyond; 414 for a request line alone over it).
    public var maxHeaderBytes: Int
    /// Header fields (431 beyond).
    public var maxHeaderCount: Int
    /// Body bytes (413 beyond).
    public var maxBodyBytes: Int
    public init(maxHeaderBytes: Int = 16 * 1024, maxHeaderCount: Int = 100, maxBodyBytes: Int = 1 << 20) {
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderCount = maxHeaderCount
        self.maxBodyBytes = maxBodyBytes
    }
}

/// A request the parser refuses, with the status to answer before closing.
public struct HTTPParseError: Error, Sendable, Equatable {
    public var status: Int
    public var reason: String
    public init(status: Int, reason: String) {
        self.status = status
        self.reason = reason
    }
}

/// A sans-I/O HTTP/1.1 request parser: feed it bytes, take requests out. It never reads past
/// a request it has not handed out, so bytes after a WebSocket upgrade stay available.
public struct HTTPParser: Sendable {
    public let limits: HTTPLimits
    private var buffer: [UInt8] = []
    private var start = 0
    /// How far the search for the end of the head got (so feeding byte by byte stays linear).
    private var scanned = 0
    /// Once an error has been returned, the parser stays failed (the connection must close).
    private(set) public var failed = false

    public init(limits: HTTPLimits = HTTPLimits()) { self.limits = limits }

    /// Appends received bytes.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        if start > 0 && start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
            scanned = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// Bytes fed and not yet consumed.
    public var bufferedBytes: Int { buffer.count - start }

    /// Bytes fed but not yet consumed by a request (e.g. the first WebSocket frames).
    public mutating func takeRemainder() -> [UInt8] {
        let rest = Array(buffer[start...])
        buffer.removeAll()
        start = 0
        scanned = 0
        return rest
    }

    /// The next complete request, nil when more bytes are needed; throws once for a bad request.
    public mutating func next() throws(HTTPParseError) -> HTTPRequest? {
        guard !failed else { return nil }
        do {
            guard let r = try parseOne() else { return nil }
            return r
        } catch {
            failed = true
            throw error
        }
    }

    private mutating func parseOne() throws(HTTPParseError) -> HTTPRequest? {
        // Tolerate empty lines before a request (RFC 9112 §2.2).
        while start + 1 < buffer.count, buffer[start] == 13, buffer[start + 1] == 10 { start += 2 }
        guard let headEnd = findHeadEnd() else {
            if buffer.count - start > limits.maxHeaderBytes {
                // Is it the request line alone that is too long?
                let hasLineEnd = buffer[start...].contains(10)
                throw HTTPParseError(status: hasLineEnd ? 431 : 414, reason: hasLineEnd ? "request header fields too large" : "request line too long")
            }
            return nil
        }
        guard headEnd - start <= limits.maxHeaderBytes else {
            throw HTTPParseError(status: 431, reason: "request header fields too large")
        }
        var lines = HeadLines(bytes: buffer, from: start, to: headEnd)
        guard let requestLine = lines.next() else { throw HTTPParseError(status: 400, reason: "empty request") }
        let (method, target, minor) = try parseRequestLine(requestLine)
        var headers: [(String, String)] = []
        var contentLength: Int?
        while let line = lines.next() {
            if line.isEmpty { break }
            guard headers.count < limits.maxHeaderCount else {
                throw HTTPParseError(status: 431, reason: "too many header fields")
            }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex else {
                throw HTTPParseError(status: 400, reason: "malformed header field")
            }
            let nameBytes = line[line.startIndex..<colon]
            guard nameBytes.allSatisfy(isTokenChar) else {
                // Also rejects obsolete line folding and whitespace before the colon (RFC 9112 §5).
                throw HTTPParseError(status: 400, reason: "invalid header field name")
            }
            let valueBytes = line[(colon + 1)...]
            guard valueBytes.allSatisfy({ $0 == 9 || ($0 >= 0x20 && $0 != 0x7F) }) else {
                throw HTTPParseError(status: 400, reason: "invalid character in header value")
            }
            let name = String(decoding: nameBytes, as: UTF8.self).lowercased()
            let value = String(String(decoding: valueBytes, as: UTF8.self)[...].trimmingASCIIWhitespace())
            if name == "content-length" {
                guard !value.isEmpty, value.utf8.count <= 18, value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let n = Int(value) else {
                    throw HTTPParseError(status: 400, reason: "invalid Content-Length")
                }
                if let c = contentLength, c != n { throw HTTPParseError(status: 400, reason: "conflicting Content-Length") }
                contentLength = n
            } else if name == "transfer-encoding" {
                // Request bodies here are small JSON or none: chunked uploads are not offered.
                throw HTTPParseError(status: 501, reason: "Transfer-Encoding not supported")
            }
            headers.append((name, value))
        }
        if minor >= 1 && !headers.contains(where: { $0.0 == "host" }) {
            throw HTTPParseError(status: 400, reason: "missing Host header")
        }
        let bodyLength = contentLength ?? 0
        guard bodyLength <= limits.maxBodyBytes else { throw HTTPParseError(status: 413, reason: "request body too large") }
        let bodyStart = headEnd + 4
        guard buffer.count - bodyStart >= bodyLength else { return nil }
        let body = Array(buffer[bodyStart..<(bodyStart + bodyLength)])
        start = bodyStart + bodyLength
        scanned = start
        return HTTPRequest(method: method, target: target, minorVersion: minor, headers: headers, body: body)
    }

    /// Index of the `\r\n\r\n` ending the head, searched from where the last search ended.
    private mutating func findHeadEnd() -> Int? {
        let n = buffer.count
        var i = max(start, scanned - 3)
        while i + 3 < n {
            if buffer[i + 3] == 10 {
                if buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 { return i }
                i += 1
            } else if buffer[i + 3] == 13 {
                i += 1
            } else {
                i += 4
            }
        }
        scanned = n
        return nil
    }

    private func parseRequestLine(_ line: ArraySlice<UInt8>) throws(HTTPParseError) -> (String, String, Int) {
        let parts = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw HTTPParseError(status: 400, reason: "malformed request line")
        }
        guard parts[0].allSatisfy(isTokenChar) else { throw HTTPParseError(status: 400, reason: "invalid method") }
        guard parts[1].allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { throw HTTPParseError(status: 400, reason: "invalid request target") }
        let version = Array(parts[2])
        let prefix = Array("HTTP/1.".utf8)
        guard version.count == 8, Array(version[0..<7]) == prefix, version[7] >= 0x30, version[7] <= 0x39 else {
            if version.starts(with: Array("HTTP/".utf8)) { throw HTTPParseError(status: 505, reason: "HTTP version not supported") }
            throw HTTPParseError(status: 400, reason: "malformed HTTP version")
        }
        let target = String(decoding: parts[1], as: UTF8.self)
        guard target.hasPrefix("/") || target == "*" else {
            throw HTTPParseError(status: 400, reason: "request target must be an absolute path")
        }
        return (String(decoding: parts[0], as: UTF8.self), target, Int(version[7] - 0x30))
    }
}

/// Splits a request head into lines on CRLF (a bare LF is accepted as a line end too).
struct HeadLines {
    let bytes: [UInt8]
    var pos: Int
    let end: Int
    init(bytes: [UInt8], from: Int, to: Int) {
        self.bytes = bytes
        pos = from
        end = to + 2  // include the CRLF ending the last header line
    }
    mutating func next() -> ArraySlice<UInt8>? {
        guard pos < end else { return nil }
        var i = pos
        while i < end && bytes[i] != 10 { i += 1 }
        var lineEnd = i
        if lineEnd > pos && bytes[lineEnd - 1] == 13 { lineEnd -= 1 }
        let line = bytes[pos..<lineEnd]
        pos = i + 1
        return line
    }
}

/// RFC 9110 token characters.
@inline(__always)
func isTokenChar(_ c: UInt8) -> Bool {
    switch c {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
        return true
    case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
         UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
         UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
        return true
    default:
        return false
    }
}
