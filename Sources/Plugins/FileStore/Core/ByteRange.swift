/// A `Range` request header against a representation of known size (RFC 9110 §14): one range
/// only. A header that is malformed, names another unit or asks for several ranges is ignored
/// (the whole file, 200), as RFC 9110 allows; a satisfiable one is 206; one that starts past
/// the end (or a zero-length suffix) is 416.
public enum ByteRange: Equatable, Sendable {
    /// No usable range: the whole representation.
    case whole
    /// Bytes `first...last` (inclusive, both within the file).
    case partial(first: Int, last: Int)
    /// No byte of the file is in the range.
    case unsatisfiable

    /// The range `header` asks for in a file of `size` bytes.
    public static func parse(_ header: String?, size: Int) -> ByteRange {
        guard let header else { return .whole }
        let trimmed = header.trimmingSpaces
        guard trimmed.count > 6, trimmed.prefix(6).lowercased() == "bytes=" else { return .whole }
        let spec = trimmed.dropFirst(6).trimmingSpaces
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { return .whole }
        let firstText = spec[..<dash].trimmingSpaces, lastText = spec[spec.index(after: dash)...].trimmingSpaces
        if firstText.isEmpty {
            // bytes=-N: the last N bytes (all of them when N is larger than the file).
            guard let n = number(lastText) else { return .whole }
            guard n > 0, size > 0 else { return .unsatisfiable }
            return .partial(first: max(0, size - n), last: size - 1)
        }
        guard let first = number(firstText) else { return .whole }
        var last = size - 1
        if !lastText.isEmpty {
            guard let l = number(lastText), l >= first else { return .whole }  // bytes=5-2 is invalid: ignored
            last = min(l, size - 1)
        }
        guard first < size else { return .unsatisfiable }
        return .partial(first: first, last: last)
    }

    /// Decimal digits only (no sign, no spaces inside), at most 18 of them (no overflow).
    static func number(_ s: Substring) -> Int? {
        guard !s.isEmpty, s.count <= 18, s.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return Int(s)
    }
}

extension StringProtocol where SubSequence == Substring {
    /// Without leading and trailing spaces and tabs (HTTP's optional whitespace).
    var trimmingSpaces: Substring {
        let s: Substring = self[...]
        guard let start = s.firstIndex(where: { $0 != " " && $0 != "\t" }) else { return s[s.endIndex...] }
        let end = s.lastIndex(where: { $0 != " " && $0 != "\t" }) ?? start
        return s[start...end]
    }
}
