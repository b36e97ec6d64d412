import Glibc
import PluginAPI
import Synchronization
import Testing

/// A tiny HTTP/1.1 server on a thread for the client's tests: answers by path.
final class CannedServer: Sendable {
    let port: Int
    let accepted = Mutex(0)
    let requests = Mutex<[String]>([])
    private let fd: Int32

    init() {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        listen(fd, 16)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        port = Int(UInt16(bigEndian: addr.sin_port))
        let listener = fd
        spawnThread { [self] in
            while true {
                let c = accept(listener, nil, nil)
                guard c >= 0 else { return }
                accepted.withLock { $0 += 1 }
                spawnThread { [self] in serve(c) }
            }
        }
    }

    deinit { close(fd) }

    func serve(_ c: Int32) {
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(c, &chunk, chunk.count)
            guard n > 0 else { close(c); return }
            buffer += chunk[0..<n]
            while let end = headEnd(buffer) {
                let head = String(decoding: buffer[0..<end], as: UTF8.self)
                let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                    .flatMap { Int($0.split(separator: ":")[1].trimmingPrefix(" ")) } ?? 0
                guard buffer.count >= end + 4 + length else { break }
                let body = String(decoding: buffer[(end + 4)..<(end + 4 + length)], as: UTF8.self)
                buffer.removeFirst(end + 4 + length)
                let target = String(head.split(separator: " ")[1])
                requests.withLock { $0.append("\(head.split(separator: " ")[0]) \(target) \(body)") }
                switch target {
                case "/ok": send(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{\"status\":\"ok\"}")
                case "/echo": send(c, "HTTP/1.1 201 Created\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
                case "/chunked": send(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: y\r\n\r\n")
                case "/until-close":
                    send(c, "HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n404 page not found")
                    close(c)
                    return
                case "/drop": close(c); return
                case "/hang": sleep(10); close(c); return
                case "/garbage": send(c, "SSH-2.0-OpenSSH\r\n\r\n"); close(c); return
                default: send(c, "HTTP/1.1 204 No Content\r\n\r\n")
                }
            }
        }
    }

    func headEnd(_ b: [UInt8]) -> Int? {
        guard b.count >= 4 else { return nil }
        for i in 0...(b.count - 4) where b[i] == 13 && b[i + 1] == 10 && b[i + 2] == 13 && b[i + 3] == 10 { return i }
        return nil
    }

    func send(_ c: Int32, _ s: String) { _ = Array(s.utf8).withUnsafeBytes { write(c, $0.baseAddress, $0.count) } }
}

@Suite struct HTTPClientTests {
    @Test func keepAliveReusesOneConnection() async throws {
        let server = CannedServer()
        let client = try HTTPClient(baseURL: "http://127.0.0.1:\(server.port)/", timeout: 2)
        for _ in 0..<3 {
            let r = try await client.request("GET", "/ok")
            #expect(r.status == 200 && r.text == #"{"status":"ok"}"# && r.header("content-type") == "application/json")
        }
        let e = try await client.request("POST", "/echo", json: ["name": "cam0"])
        #expect(e.status == 201 && e.text == #"{"name":"cam0"}"#)
        let empty = try await client.request("DELETE", "/other")
        #expect(empty.status == 204 && empty.body.isEmpty)
        #expect(server.accepted.withLock { $0 } == 1)
        #expect(server.requests.withLock { $0 }.contains(#"POST /echo {"name":"cam0"}"#))
    }

    @Test func chunkedAndCloseDelimitedBodies() async throws {
        let server = CannedServer()
        let client = try HTTPClient(baseURL: "http://127.0.0.1:\(server.port)", timeout: 2)
        let chunked = try await client.request("GET", "/chunked")
        #expect(chunked.text == "hello, world")
        let closed = try await client.request("GET", "/until-close")
        #expect(closed.status == 404 && closed.text == "404 page not found")
        // The closed connection is not reused: the next request opens a new one.
        _ = try await client.request("GET", "/ok")
        #expect(server.accepted.withLock { $0 } == 2)
    }

    @Test func aServerThatNeverAnswersTimesOut() async throws {
        let server = CannedServer()
        let client = try HTTPClient(baseURL: "http://127.0.0.1:\(server.port)", timeout: 0.3)
        let began = ContinuousClock.now
        do {
            _ = try await client.request("GET", "/hang")
            Issue.record("no timeout")
        } catch {
            #expect(error.kind == .timeout)
        }
        #expect(ContinuousClock.now - began < .seconds(2))
    }

    @Test func failuresSayWhatWentWrong() async throws {
        let server = CannedServer()
        let client = try HTTPClient(baseURL: "http://127.0.0.1:\(server.port)", timeout: 1)
        await #expect(throws: HTTPClientError.self) { _ = try await client.request("GET", "/drop") }
        do { _ = try await client.request("GET", "/garbage") } catch { #expect(error.kind == .protocolError) }
        // Nothing listens on the port of a closed socket.
        let dead = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(dead, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(dead, $0, &len) } }
        close(dead)
        let refused = try HTTPClient(baseURL: "http://127.0.0.1:\(UInt16(bigEndian: addr.sin_port))", timeout: 1)
        do { _ = try await refused.request("GET", "/") } catch { #expect(error.kind == .connect) }
    }

    @Test func badBaseURLs() {
        for url in ["https://x", "ftp://x", "http://", "http://host:99999", "http://host/path", "http://[::1"] {
            #expect(throws: HTTPClientError.self) { _ = try HTTPClient(baseURL: url) }
        }
        #expect((try? HTTPClient(baseURL: "http://[::1]:9997"))?.host == "::1")
        #expect((try? HTTPClient(baseURL: "http://127.0.0.1"))?.port == 80)
    }
}
