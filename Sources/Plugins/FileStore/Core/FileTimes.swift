import Codecs
import Glibc

/// A file's creation time. Linux's `stat` has no birth time (and `statx` is out of reach of
/// Swift's Glibc module), so it comes from the name when the name carries the contract's
/// stamp (`<device>_<YYYY-MM-DD>_<HH-MM-SS>…`, UTC: when the capture engine started the file),
/// else it is the modification time. A stamp later than the modification time is not believed.
public enum FileTimes {
    public static func createdNs(name: String, device: String, modifiedNs: Int64) -> Int64 {
        guard let t = stamp(name, device: device) else { return modifiedNs }
        let ns = Int64(t) * 1_000_000_000
        return ns <= modifiedNs ? ns : modifiedNs
    }

    /// Seconds since the epoch of the stamp after `<device>_`, nil when there is none.
    static func stamp(_ name: String, device: String) -> Int? {
        let u = Array(name.utf8), prefix = Array(device.utf8)
        // "_YYYY-MM-DD_HH-MM-SS" after the device: 20 bytes.
        guard u.count >= prefix.count + 20, u.starts(with: prefix), u[prefix.count] == UInt8(ascii: "_") else { return nil }
        let s = Array(u[(prefix.count + 1)..<(prefix.count + 20)])
        func digits(_ from: Int, _ n: Int) -> Int? {
            var v = 0
            for i in from..<(from + n) {
                guard s[i] >= 0x30, s[i] <= 0x39 else { return nil }
                v = v * 10 + Int(s[i] - 0x30)
            }
            return v
        }
        let dash = UInt8(ascii: "-"), underscore = UInt8(ascii: "_")
        guard s[4] == dash, s[7] == dash, s[10] == underscore, s[13] == dash, s[16] == dash,
              let y = digits(0, 4), let mo = digits(5, 2), let d = digits(8, 2), let h = digits(11, 2), let mi = digits(14, 2), let se = digits(17, 2),
              y >= 1970, (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, se < 61 else { return nil }
        return Timestamp.utc(year: y, month: mo, day: d, hour: h, minute: mi, second: se)
    }
}
