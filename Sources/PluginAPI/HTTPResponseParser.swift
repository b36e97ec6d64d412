/// An HTTP/1.1 response as the client received it.
public struct HTTPClientResponse: Sendable {
    /// The status code (200, 404, …).
    public var status: Int
    /// Header fields in order; names lower-cased.
    public var headers: [(name: String, value: String)]
    /// The complete body, transfer coding removed; empty for a `HEAD` request.
    public var body: [UInt8]

    /// A response, field by field.
    public init(status: Int, headers: [(name: String, value: String)], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first value of header `name` (lower-case), or nil.
    public func header(_ name: String) -> String? {
        for h in headers where h.name == name { return h.value }
        return nil
    }

    /// The body as text (UTF-8, invalid bytes replaced).
    public var text: String { String(decoding: body, as: UTF8.self) }

    /// Whether the status is 2xx.
    public var isSuccess: Bool { (200..<300).contains(status) }
}

/// Parses one HTTP/1.1 response from bytes as they arrive, without I/O: status line, headers,
/// then a body framed by `Content-Length`, `chunked` transfer coding, or the end of the
/// connection. Bounded: oversized heads or bodies are errors, never unbounded buffers.
struct HTTPResponseParser {
    enum Outcome: Equatable {
        case needMore
        /// The response is complete; `keepAlive` says whether the connection can be reused.
        case complete(keepAlive: Bool)
        case failed(String)
    }

    let maxHeadBytes: Int
    let maxBodyBytes: Int
    /// A response to HEAD has no body whatever its headers say.
    let headRequest: Bool
    private var buffer: [UInt8] = []
    private var pos = 0
    private(set) var status = 0
    private(set) var headers: [(name: String, value: String)] = []
    private(set) var body: [UInt8] = []
    private var framing: Framing?
    private var keepAlive = true
    private var done: Outcome?

    enum Framing { case length(Int), chunked(ChunkState), untilClose, none }
    enum ChunkState { case size, data(Int), dataEnd, trailer }

    init(headRequest: Bool = false, maxHeadBytes: Int = 64 * 1024, maxBodyBytes: Int = 16 << 20) {
        self.headRequest = headRequest
        self.maxHeadBytes = maxHeadBytes
        self.maxBodyBytes = maxBodyBytes
    }

    var response: HTTPClientResponse { HTTPClientResponse(status: status, headers: headers, body: body) }

    /// Adds bytes and parses as far as they go.
    mutating func feed(_ bytes: some Collection<UInt8>) -> Outcome {
        if let done { return done }
        buffer.append(contentsOf: bytes)
        let outcome = parse()
        if outcome != .needMore { done = outcome }
        return outcome
    }

    /// The peer closed the connection: completes a close-delimited body, fails anything else.
    mutating func finish() -> Outcome {
        if let done { return done }
        if case .untilClose? = framing {
            done = .complete(keepAlive: false)
        } else {
            done = .failed(framing == nil && buffer.isEmpty ? "connection closed before a response" : "connection closed in the middle of the response")
        }
        return done ?? .needMore
    }

    private mutating func parse() -> Outcome {
        if framing == nil {
            guard let end = headEnd() else {
                return buffer.count > maxHeadBytes ? .failed("response head larger than \(maxHeadBytes) bytes") : .needMore
            }
            if let problem = parseHead(Array(buffer[0..<end])) { return .failed(problem) }
            pos = end + 4
        }
        return parseBody()
    }

    private func headEnd() -> Int? {
        guard buffer.count >= 4 else { return nil }
        var i = 0
        while i + 3 < buffer.count {
            if buffer[i] == 13, buffer[i + 1] == 10, buffer[i + 2] == 13, buffer[i + 3] == 10 { return i }
            i += 1
        }
        return nil
    }

    private mutating func parseHead(_ head: [UInt8]) -> String? {
        let lines = head.split(separator: 10, omittingEmptySubsequences: false).map { line -> String in
            String(decoding: line.last == 13 ? line.dropLast() : line, as: UTF8.self)
        }
        guard let statusLine = lines.first else { return "empty response head" }
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let code = Int(parts[1]), (100...999).contains(code) else {
            return "malformed status line '\(statusLine.prefix(80))'"
        }
        status = code
        let http10 = parts[0] == "HTTP/1.0"
        var length: Int?
        var chunked = false
        var connectionTokens: [String] = []
        for line in lines.dropFirst() where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { return "malformed header line '\(line.prefix(80))'" }
            let name = line[..<colon].lowercased()
            let value = String(line[line.index(after: colon)...]).trimmingSpaces()
            headers.append((name, value))
            switch name {
            case "content-length":
                guard let n = Int(value), n >= 0 else { return "bad Content-Length '\(value)'" }
                if let length, length != n { return "conflicting Content-Length headers" }
                length = n
            case "transfer-encoding":
                chunked = value.lowercased().split(separator: ",").map { $0.trimmingCharacters(in: " ") }.last == "chunked"
            case "connection":
                connectionTokens += value.lowercased().split(separator: ",").map { $0.trimmingCharacters(in: " ") }
            default: break
            }
        }
        keepAlive = http10 ? connectionTokens.contains("keep-alive") : !connectionTokens.contains("close")
        if headRequest || status == 204 || status == 304 || (100..<200).contains(status) {
            framing = Framing.none
        } else if chunked {
            framing = .chunked(.size)
        } else if let length {
            guard length <= maxBodyBytes else { return "response body of \(length) bytes is over \(maxBodyBytes)" }
            framing = .length(length)
        } else {
            framing = .untilClose
            keepAlive = false
        }
        return nil
    }

    private mutating func parseBody() -> Outcome {
        while true {
            switch framing {
            case .none?, nil:
                return .complete(keepAlive: keepAlive)
            case .length(let n)?:
                let take = min(n - body.count, buffer.count - pos)
                body.append(contentsOf: buffer[pos..<(pos + take)])
                pos += take
                return body.count == n ? .complete(keepAlive: keepAlive) : .needMore
            case .untilClose?:
                body.append(contentsOf: buffer[pos...])
                pos = buffer.count
                return body.count > maxBodyBytes ? .failed("response body over \(maxBodyBytes) bytes") : .needMore
            case .chunked(let state)?:
                switch state {
                case .size, .trailer:
                    guard let lineEnd = crlf(from: pos) else { return .needMore }
                    let line = String(decoding: buffer[pos..<lineEnd], as: UTF8.self)
                    pos = lineEnd + 2
                    if case .trailer = state {
                        if line.isEmpty { return .complete(keepAlive: keepAlive) }
                        continue  // trailer fields are ignored
                    }
                    let sizeText = line.split(separator: ";", maxSplits: 1).first.map { String($0).trimmingSpaces() } ?? ""
                    guard let size = Int(sizeText, radix: 16), size >= 0 else { return .failed("bad chunk size '\(line.prefix(20))'") }
                    guard body.count + size <= maxBodyBytes else { return .failed("response body over \(maxBodyBytes) bytes") }
                    framing = .chunked(size == 0 ? .trailer : .data(size))
                case .data(let left):
                    let take = min(left, buffer.count - pos)
                    body.append(contentsOf: buffer[pos..<(pos + take)])
                    pos += take
                    guard take == left else {
                        framing = .chunked(.data(left - take))
                        return .needMore
                    }
                    framing = .chunked(.dataEnd)
                case .dataEnd:
                    guard buffer.count - pos >= 2 else { return .needMore }
                    guard buffer[pos] == 13, buffer[pos + 1] == 10 else { return .failed("chunk not followed by CRLF") }
                    pos += 2
                    framing = .chunked(.size)
                }
            }
        }
    }

    private func crlf(from start: Int) -> Int? {
        var i = start
        while i + 1 < buffer.count {
            if buffer[i] == 13, buffer[i + 1] == 10 { return i }
            i += 1
        }
        return nil
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}

extension Substring {
    func trimmingCharacters(in c: Character) -> String {
        var s = self
        while s.first == c { s.removeFirst() }
        while s.last == c { s.removeLast() }
        return String(s)
    }
}
