import PluginAPI

/// Prometheus text exposition format 0.0.4: `# HELP`/`# TYPE` once per family, escaped labels.
struct PrometheusText {
    private(set) var text = ""

    mutating func family(_ name: String, _ type: String, _ help: String) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
    }

    mutating func sample(_ name: String, _ labels: [(String, String)] = [], _ value: Double) {
        text += name
        if !labels.isEmpty {
            text += "{" + labels.map { "\($0.0)=\"\(PrometheusText.escape($0.1))\"" }.joined(separator: ",") + "}"
        }
        text += " " + PrometheusText.format(value) + "\n"
    }

    /// Label value escaping (`\\`, `\"`, `\n`) on bytes, so no grapheme (`\r\n`) slips through;
    /// a lone `\r` is escaped too, as some parsers treat it as a line end.
    static func escape(_ s: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count)
        for b in s.utf8 {
            switch b {
            case 0x5C: out += [0x5C, 0x5C]
            case 0x22: out += [0x5C, 0x22]
            case 0x0A: out += [0x5C, 0x6E]
            case 0x0D: out += [0x5C, 0x72]
            default: out.append(b)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func format(_ v: Double) -> String {
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        if v.isNaN { return "NaN" }
        if v == v.rounded() && abs(v) < 1e15 { return String(Int64(v)) }
        return String(v)
    }
}

extension Metrics {
    /// The `/metrics` body.
    func prometheus(process p: ProcessStats, uptime: Double, cameras: [CameraInfo], plugins: [PluginStatus],
                    health: [(name: String, status: HealthStatus)] = [], events: (published: UInt64, delivered: UInt64), version: String) -> String {
        let children = plugins.compactMap { s in s.processes.map { (s.name, $0) } }
        let s = snapshot()
        var out = PrometheusText()
        out.family("camera_service_info", "gauge", "Build information.")
        out.sample("camera_service_info", [("version", version)], 1)
        out.family("camera_service_uptime_seconds", "gauge", "Seconds since start-up.")
        out.sample("camera_service_uptime_seconds", [], (uptime * 1000).rounded() / 1000)

        out.family("camera_service_rpc_requests_total", "counter", "JSON-RPC requests handled, by method.")
        for m in s.methods { out.sample("camera_service_rpc_requests_total", [("method", m.name)], Double(m.stats.count)) }
        out.family("camera_service_rpc_errors_total", "counter", "JSON-RPC requests answered with an error, by method.")
        for m in s.methods { out.sample("camera_service_rpc_errors_total", [("method", m.name)], Double(m.stats.errors)) }
        out.family("camera_service_rpc_invalid_messages_total", "counter", "Messages refused before dispatch (parse errors, bad envelopes).")
        out.sample("camera_service_rpc_invalid_messages_total", [], Double(s.rejectedEnvelopes))
        out.family("camera_service_rpc_duration_seconds", "histogram", "JSON-RPC handling time, by method.")
        for m in s.methods {
            var cumulative: UInt64 = 0
            for (i, bound) in Histogram.bounds.enumerated() {
                cumulative += m.stats.latency.counts[i]
                out.sample("camera_service_rpc_duration_seconds_bucket", [("method", m.name), ("le", PrometheusText.format(bound))], Double(cumulative))
            }
            out.sample("camera_service_rpc_duration_seconds_bucket", [("method", m.name), ("le", "+Inf")], Double(m.stats.latency.count))
            out.sample("camera_service_rpc_duration_seconds_sum", [("method", m.name)], m.stats.latency.sum)
            out.sample("camera_service_rpc_duration_seconds_count", [("method", m.name)], Double(m.stats.latency.count))
        }

        out.family("camera_service_connections_active", "gauge", "Open client connections.")
        out.sample("camera_service_connections_active", [], Double(s.active))
        out.family("camera_service_connections_peak", "gauge", "Most connections open at once since start-up.")
        out.sample("camera_service_connections_peak", [], Double(s.peak))
        out.family("camera_service_connections_accepted_total", "counter", "Connections accepted.")
        out.sample("camera_service_connections_accepted_total", [], Double(s.accepted))
        out.family("camera_service_connections_rejected_total", "counter", "Connections refused or closed by the server, by reason.")
        for (reason, n) in s.rejected { out.sample("camera_service_connections_rejected_total", [("reason", reason)], Double(n)) }

        out.family("camera_service_events_published_total", "counter", "Events published.")
        out.sample("camera_service_events_published_total", [], Double(events.published))
        out.family("camera_service_events_delivered_total", "counter", "Event deliveries queued to subscribers.")
        out.sample("camera_service_events_delivered_total", [], Double(events.delivered))
        out.family("camera_service_events_dropped_total", "counter", "Event deliveries dropped (closed or slow connections).")
        out.sample("camera_service_events_dropped_total", [], Double(s.eventsDropped))

        out.family("camera_service_cameras", "gauge", "Cameras by status.")
        for status in [CameraStatus.connected, .disconnected, .error] {
            out.sample("camera_service_cameras", [("status", status.rawValue.lowercased())], Double(cameras.filter { $0.status == status }.count))
        }
        out.family("camera_service_plugin_up", "gauge", "1 for an active plugin, 0 for a failed or disabled one.")
        for p in plugins { out.sample("camera_service_plugin_up", [("plugin", p.name), ("status", p.state.rawValue)], p.state == .active ? 1 : 0) }

        out.family("camera_service_health", "gauge", "Health by component (the daemon, plugins' components such as mediamtx and storage): 0 healthy, 1 degraded, 2 unhealthy; disabled ones are left out.")
        for c in health where c.status != .disabled {
            out.sample("camera_service_health", [("component", c.name)], c.status == .healthy ? 0 : c.status == .degraded ? 1 : 2)
        }
        out.family("camera_service_child_processes", "gauge", "Supervised child processes running, by plugin.")
        for (name, launcher) in children { out.sample("camera_service_child_processes", [("plugin", name)], Double(launcher.liveCount)) }
        out.family("camera_service_child_processes_started_total", "counter", "Supervised child processes started, by plugin.")
        for (name, launcher) in children { out.sample("camera_service_child_processes_started_total", [("plugin", name)], Double(launcher.startedCount)) }

        out.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.")
        out.sample("process_resident_memory_bytes", [], Double(p.rssBytes))
        out.family("process_cpu_seconds_total", "counter", "User and system CPU time in seconds.")
        out.sample("process_cpu_seconds_total", [], p.cpuSeconds)
        out.family("process_open_fds", "gauge", "Open file descriptors.")
        out.sample("process_open_fds", [], Double(p.openFDs))
        out.family("process_threads", "gauge", "OS threads.")
        out.sample("process_threads", [], Double(p.threads))
        out.family("process_start_time_seconds", "gauge", "Start time of the process since the Unix epoch in seconds.")
        out.sample("process_start_time_seconds", [], p.startTime.rounded())
        return out.text
    }

    /// The `get_metrics` result; `extra` adds what capabilities report (streams, recordings).
    func json(process p: ProcessStats, uptime: Double, cameras: [CameraInfo], processes: JSONObject, extra: JSONObject = [:]) -> JSONValue {
        let s = snapshot()
        var perMethod = JSONObject()
        for m in s.methods {
            perMethod[m.name] = .object(["count": .int(Int(m.stats.count)), "errors": .int(Int(m.stats.errors)),
                                         "p50_ms": .double(Metrics.ms(m.stats.latency.quantile(0.5))),
                                         "p99_ms": .double(Metrics.ms(m.stats.latency.quantile(0.99)))])
        }
        var rejected = JSONObject()
        for (reason, n) in s.rejected { rejected[reason] = .int(Int(n)) }
        var o: JSONObject = [
            "timestamp": .string(HostClock.rfc3339(HostClock.now())),
            "requests": .object(["total": .int(Int(s.requests)), "errors": .int(Int(s.errors)), "per_method": .object(perMethod)]),
            "connections": .object(["active": .int(s.active), "peak": .int(s.peak), "accepted": .int(Int(s.accepted)),
                                    "rejected": .int(Int(s.rejected.reduce(0) { $0 + $1.1 })), "rejected_by_reason": .object(rejected)]),
            "system": .object(["cpu_percent": .double(cpuPercent(p)), "rss_bytes": .int(p.rssBytes), "threads": .int(p.threads),
                               "open_fds": .int(p.openFDs), "uptime": .double((uptime * 1000).rounded() / 1000)]),
            "cameras": .object(["connected": .int(cameras.filter { $0.status == .connected }.count), "total": .int(cameras.count)]),
            "processes": .object(processes),
        ]
        for (k, v) in extra { o[k] = v }
        return .object(o)
    }

    static func ms(_ seconds: Double) -> Double { (seconds * 1_000_000).rounded() / 1000 }
}
