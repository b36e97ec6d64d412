import Glibc

/// HTTP dates (RFC 9110 §5.6.7): `Last-Modified`, `If-Modified-Since`.
public enum HTTPDate {
    static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// IMF-fixdate in UTC: `Sun, 06 Nov 1994 08:49:37 GMT` (whole seconds, rounded down).
    public static func format(_ t: Double) -> String {
        let t = t.isFinite ? min(max(t, 0), 253402300799) : 0
        var secs = time_t(t.rounded(.down))
        var tm = Glibc.tm()
        gmtime_r(&secs, &tm)
        let p = Timestamp.pad
        return "\(days[Int(tm.tm_wday)]), \(p(Int(tm.tm_mday), 2)) \(months[Int(tm.tm_mon)]) \(p(Int(tm.tm_year) + 1900, 4)) "
            + "\(p(Int(tm.tm_hour), 2)):\(p(Int(tm.tm_min), 2)):\(p(Int(tm.tm_sec), 2)) GMT"
    }

    /// Seconds since the epoch of an IMF-fixdate; nil for anything else (the obsolete RFC 850
    /// and asctime forms included: a recipient may then ignore the header).
    public static func parse(_ s: String) -> Double? {
        let parts = s.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0].count == 4, parts[0].hasSuffix(","), days.contains(String(parts[0].dropLast())), parts[5] == "GMT",
              parts[1].count == 2, let day = Int(parts[1]), let month = months.firstIndex(of: String(parts[2])),
              parts[3].count == 4, let year = Int(parts[3]) else { return nil }
        let clock = parts[4].split(separator: ":", omittingEmptySubsequences: false)
        guard clock.count == 3, clock.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isASCII) }),
              let h = Int(clock[0]), let m = Int(clock[1]), let sec = Int(clock[2]),
              (1...31).contains(day), (0...23).contains(h), (0...59).contains(m), (0...60).contains(sec), year >= 1970 else { return nil }
        return Timestamp.utc(year: year, month: month + 1, day: day, hour: h, minute: m, second: sec).map(Double.init)
    }
}
