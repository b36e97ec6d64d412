import Glibc

/// Space on the filesystem holding the store (`statvfs`).
///
/// Test hook: the environment variable `CAMERA_SERVICE_FILE_STORE_FAKE_USAGE` (read through the
/// plugin context, so only whoever starts the daemon can set it, never a client) replaces the
/// measured usage: a percentage, or the path of a file holding one, read at every measurement
/// (tests move it to cross the thresholds). Total stays the real one; used and available follow
/// the percentage.
public struct StorageMeter: Sendable {
    public static let fakeUsageVariable = "CAMERA_SERVICE_FILE_STORE_FAKE_USAGE"

    public struct Reading: Sendable, Equatable {
        public var totalBytes: Int
        public var usedBytes: Int
        public var availableBytes: Int
        /// `usedBytes / (usedBytes + availableBytes)`, percent (df's Use%).
        public var percent: Double
    }

    public let path: String
    public let fakeUsage: String?

    public init(path: String, fakeUsage: String?) {
        self.path = path
        self.fakeUsage = fakeUsage.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Nil when the filesystem cannot be read.
    public func read() -> Reading? {
        var s = statvfs()
        guard statvfs(path, &s) == 0 else { return nil }
        let unit = Int(s.f_frsize == 0 ? s.f_bsize : s.f_frsize)
        let total = Int(s.f_blocks) * unit, free = Int(s.f_bfree) * unit, available = Int(s.f_bavail) * unit
        // As df's Use%: of the space unprivileged writers can have (reserved blocks left out),
        // so 100 % is when the capture engine can write no more.
        let used = total - free
        var r = Reading(totalBytes: total, usedBytes: used, availableBytes: available,
                        percent: used + available > 0 ? Double(used) / Double(used + available) * 100 : 0)
        if let fake = fakePercent() {
            r.percent = fake
            r.usedBytes = Int(Double(total) * fake / 100)
            r.availableBytes = max(0, total - r.usedBytes)
        }
        return r
    }

    func fakePercent() -> Double? {
        guard let fakeUsage else { return nil }
        if let v = Double(fakeUsage) { return min(max(v, 0), 100) }
        guard let f = fopen(fakeUsage, "r") else { return nil }
        defer { fclose(f) }
        var buffer = [CChar](repeating: 0, count: 32)
        guard fgets(&buffer, 32, f) != nil else { return nil }
        let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return Double(text.filter { !$0.isWhitespace }).map { min(max($0, 0), 100) }
    }
}
