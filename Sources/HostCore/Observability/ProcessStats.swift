import Glibc

/// This process's resource use, read from /proc (no Foundation).
package struct ProcessStats: Sendable {
    package var rssBytes: Int
    package var cpuSeconds: Double
    package var threads: Int
    package var openFDs: Int
    package var startTime: Double

    /// Reads /proc/self/statm, /proc/self/stat and /proc/self/fd.
    package static func read() -> ProcessStats {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        var rss = 0
        if let statm = try? FileIO.read("/proc/self/statm") {
            let fields = String(decoding: statm, as: UTF8.self).split(separator: " ")
            if fields.count > 1, let pages = Int(fields[1]) { rss = pages * page }
        }
        var cpu = 0.0, threads = 0, start = 0.0
        if let stat = try? FileIO.read("/proc/self/stat"), let close = stat.lastIndex(of: UInt8(ascii: ")")) {
            // Fields after "(comm)": state is field 3, so field N is at index N - 3.
            let fields = String(decoding: stat[(close + 2)...], as: UTF8.self).split(separator: " ")
            func field(_ n: Int) -> Double { n - 3 < fields.count ? Double(fields[n - 3]) ?? 0 : 0 }
            cpu = (field(14) + field(15)) / ticks
            threads = Int(field(20))
            start = bootTime() + field(22) / ticks
        }
        return ProcessStats(rssBytes: rss, cpuSeconds: cpu, threads: threads, openFDs: countOpenFDs(), startTime: start)
    }

    static func countOpenFDs() -> Int {
        guard let dir = opendir("/proc/self/fd") else { return 0 }
        defer { closedir(dir) }
        var n = 0
        while let entry = readdir(dir) {
            let first = withUnsafeBytes(of: entry.pointee.d_name) { $0.first ?? 0 }
            if first != UInt8(ascii: ".") { n += 1 }
        }
        return max(0, n - 1)  // the directory handle itself
    }

    static func bootTime() -> Double {
        guard let text = try? FileIO.read("/proc/stat") else { return 0 }
        for line in String(decoding: text, as: UTF8.self).split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst(6)) ?? 0
        }
        return 0
    }
}
