import Glibc

/// Wall-clock time and its RFC 3339 form, shared by the host and plugins.
public enum Timestamp {
    /// Seconds since the Unix epoch.
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Seconds on the monotonic clock (durations and deadlines; not affected by clock changes).
    @inlinable
    public static func monotonic() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// RFC 3339 in UTC: `2026-11-21T09:42:57.123Z`, or without the fraction.
    public static func rfc3339(_ t: Double, milliseconds: Bool = true) -> String {
        // Clamp to years 0001…9999: client-supplied times (JWT exp) must never trap a conversion.
        let t = t.isFinite ? min(max(t, -62135596800), 253402300799) : 0
        var secs = time_t(t.rounded(.down))
        let ms = Int((t - Double(secs)) * 1000)
        var tm = Glibc.tm()
        gmtime_r(&secs, &tm)
        let date = "\(pad(Int(tm.tm_year) + 1900, 4))-\(pad(Int(tm.tm_mon) + 1, 2))-\(pad(Int(tm.tm_mday), 2))"
        let time = "\(pad(Int(tm.tm_hour), 2)):\(pad(Int(tm.tm_min), 2)):\(pad(Int(tm.tm_sec), 2))"
        return "\(date)T\(time)" + (milliseconds ? ".\(pad(ms, 3))Z" : "Z")
    }

    /// Seconds since the epoch of a UTC calendar time (fields as written: month 1…12, a leap
    /// second 60 allowed); nil for a date that does not exist (February 30, month 13, hour 24).
    public static func utc(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) -> Int? {
        guard (1...9999).contains(year), (1...12).contains(month), (0...23).contains(hour), (0...59).contains(minute),
              (0...60).contains(second) else { return nil }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        guard (1...days).contains(day) else { return nil }
        var tm = Glibc.tm()
        tm.tm_year = Int32(year - 1900)
        tm.tm_mon = Int32(month - 1)
        tm.tm_mday = Int32(day)
        tm.tm_hour = Int32(hour)
        tm.tm_min = Int32(minute)
        tm.tm_sec = Int32(second)
        return Int(timegm(&tm))
    }

    static func pad(_ v: Int, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}
