@testable import HostCore
import PluginAPI
import Testing

@Suite struct RateLimitTests {
    @Test func tokenBucketRefills() {
        var b = TokenBucket(rate: 10, burst: 2, now: 0)
        #expect(b.take(now: 0) == nil && b.take(now: 0) == nil)
        #expect(b.take(now: 0) == 100)  // 1 token at 10/s: 100 ms
        #expect(b.take(now: 0.05) == 50)
        #expect(b.take(now: 0.1) == nil)
    }

    @Test func authThrottleBacksOffAndForgetsOnSuccess() {
        var t = AuthThrottle(threshold: 3)
        t.failed("1.2.3.4", now: 0)
        t.failed("1.2.3.4", now: 0)
        #expect(t.retryAfter("1.2.3.4", now: 0) == nil)
        t.failed("1.2.3.4", now: 0)
        #expect(t.retryAfter("1.2.3.4", now: 0) == 1000)
        t.failed("1.2.3.4", now: 1)
        #expect(t.retryAfter("1.2.3.4", now: 1) == 2000)  // doubles
        #expect(t.retryAfter("5.6.7.8", now: 1) == nil)   // per IP
        t.succeeded("1.2.3.4")
        #expect(t.retryAfter("1.2.3.4", now: 1) == nil)
    }
}

@Suite struct MetricsTests {
    @Test func timestampsNeverTrap() {
        #expect(HostClock.rfc3339(1e19) == "9999-12-31T23:59:59.000Z")
        #expect(HostClock.rfc3339(.infinity) == "1970-01-01T00:00:00.000Z")
        #expect(HostClock.rfc3339(-1e30).hasPrefix("0001-01-01"))
    }

    @Test func histogramQuantiles() {
        var h = Histogram()
        for _ in 0..<99 { h.record(0.0002) }
        h.record(2)
        #expect(h.count == 100)
        #expect(h.quantile(0.5) > 0.0001 && h.quantile(0.5) <= 0.00025)
        #expect(h.quantile(1.0) > 1 && h.quantile(1.0) <= 2.5)
    }

    @Test func prometheusEscapesLabelsAndDeclaresEachFamilyOnce() {
        let m = Metrics()
        m.completed(method: "a\"b\\c\nd", error: nil, seconds: 0.003)
        m.completed(method: "x\r\ninjected 1", error: nil, seconds: 0.003)
        let text = m.prometheus(process: ProcessStats(rssBytes: 1, cpuSeconds: 0.5, threads: 2, openFDs: 3, startTime: 10), uptime: 1,
                                cameras: [], plugins: [], events: (0, 0), version: "1")
        #expect(text.contains(#"method="a\"b\\c\nd""#))
        #expect(text.split(separator: "\n").filter { $0 == "# TYPE camera_service_rpc_duration_seconds histogram" }.count == 1)
        #expect(text.contains(#"camera_service_rpc_duration_seconds_bucket{method="a\"b\\c\nd",le="0.005"} 1"#))
        #expect(text.contains(#"le="0.0025"} 0"#))
        #expect(text.contains(#"method="x\r\ninjected 1""#))  // a CRLF grapheme is escaped byte by byte
        #expect(!text.split(separator: "\n", omittingEmptySubsequences: false).contains { $0.hasPrefix("injected") })
    }

    @Test func healthByComponentAsNumbers() {
        let text = Metrics().prometheus(process: ProcessStats(rssBytes: 1, cpuSeconds: 0, threads: 1, openFDs: 1, startTime: 1), uptime: 1, cameras: [],
                                        plugins: [], health: [("server", .healthy), ("mediamtx", .unhealthy), ("storage", .degraded), ("x", .disabled)],
                                        events: (0, 0), version: "1")
        let lines = text.split(separator: "\n").filter { $0.hasPrefix("camera_service_health{") }
        #expect(lines == [#"camera_service_health{component="server"} 0"#, #"camera_service_health{component="mediamtx"} 2"#,
                          #"camera_service_health{component="storage"} 1"#])
    }

    @Test func openRPCSchemas() throws {
        #expect(OpenRPC.schema(.integer(minimum: 1, maximum: 5)) == ["type": "integer", "minimum": 1, "maximum": 5])
        #expect(OpenRPC.schema(.array(of: .enumeration(["a"]), minItems: 1)) == ["type": "array", "items": ["type": "string", "enum": ["a"]], "minItems": 1])
        let doc = OpenRPC.document([try MethodEntry(descriptor: MethodDescriptor("x", role: .admin, params: [ParamDescriptor("p", .boolean, required: true)]),
                                                owner: "core", implementation: .inline({ _ in nil }))], topics: [], version: "9")
        #expect(doc["methods"]?.arrayValue?.first?["x-required-role"] == "admin")
        #expect(doc["methods"]?.arrayValue?.first?["params"]?.arrayValue?.first?["required"] == true)
    }
}
