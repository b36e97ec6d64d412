import PluginAPI

/// Typed, located reads from one YAML mapping. Every key asked for is remembered, so that
/// ``finish()`` can reject the keys nobody asked for (typos), and so that the full list of
/// keys is known for environment overrides.
package struct ConfigReader {
    let node: YAMLNode?
    let path: String
    let mark: SourceMark
    private(set) var asked: [String] = []
    /// Every dotted key asked for by this reader and its children.
    package private(set) var knownKeys: [String] = []

    /// `node` may be nil (section absent: every key takes its default).
    package init(_ node: YAMLNode?, path: String, fallbackMark: SourceMark) throws(ConfigError) {
        if let node, !node.isNull {
            guard case .mapping = node else { throw ConfigError(node.mark, "\(path.isEmpty ? "the document" : path) must be a mapping") }
            self.node = node
        } else {
            self.node = nil
        }
        self.path = path
        mark = node?.mark ?? fallbackMark
    }

    func dotted(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    mutating func value(_ key: String) -> YAMLNode? {
        asked.append(key)
        knownKeys.append(dotted(key))
        guard let v = node?[key], !v.isNull else { return nil }
        return v
    }

    mutating func scalar(_ key: String, expected: String) throws(ConfigError) -> (String, Bool, SourceMark)? {
        guard let v = value(key) else { return nil }
        guard case .scalar(let s, let plain, let m) = v else { throw ConfigError(v.mark, "\(dotted(key)): expected \(expected)") }
        return (s, plain, m)
    }

    package mutating func string(_ key: String, default d: String) throws(ConfigError) -> String {
        try scalar(key, expected: "a string")?.0 ?? d
    }

    package mutating func optionalString(_ key: String) throws(ConfigError) -> String? {
        try scalar(key, expected: "a string").map(\.0)
    }

    package mutating func int(_ key: String, default d: Int, range: ClosedRange<Int>) throws(ConfigError) -> Int {
        let expected = "an integer from \(range.lowerBound) to \(range.upperBound)"
        guard let (s, _, m) = try scalar(key, expected: expected) else { return d }
        guard let i = Int(s), range.contains(i) else { throw ConfigError(m, "\(dotted(key)): expected \(expected), got '\(s)'") }
        return i
    }

    package mutating func number(_ key: String, default d: Double, range: ClosedRange<Double>) throws(ConfigError) -> Double {
        let expected = "a number from \(range.lowerBound) to \(range.upperBound)"
        guard let (s, _, m) = try scalar(key, expected: expected) else { return d }
        guard let v = Double(s), range.contains(v) else { throw ConfigError(m, "\(dotted(key)): expected \(expected), got '\(s)'") }
        return v
    }

    package mutating func bool(_ key: String, default d: Bool) throws(ConfigError) -> Bool {
        guard let (s, _, m) = try scalar(key, expected: "true or false") else { return d }
        switch s {
        case "true", "True", "TRUE", "yes", "on", "1": return true
        case "false", "False", "FALSE", "no", "off", "0": return false
        default: throw ConfigError(m, "\(dotted(key)): expected true or false, got '\(s)'")
        }
    }

    /// A duration: a number of seconds or a number with a unit (`ms`, `s`, `m`, `h`, `d`).
    package mutating func seconds(_ key: String, default d: Double, range: ClosedRange<Double>) throws(ConfigError) -> Double {
        guard let (s, _, m) = try scalar(key, expected: "a duration") else { return d }
        guard let v = parseDuration(s), range.contains(v) else {
            throw ConfigError(m, "\(dotted(key)): expected a duration such as 30s or 5m between \(range.lowerBound)s and \(range.upperBound)s, got '\(s)'")
        }
        return v
    }

    package mutating func choice(_ key: String, default d: String, from choices: [String]) throws(ConfigError) -> String {
        let expected = "one of \(choices.joined(separator: ", "))"
        guard let (s, _, m) = try scalar(key, expected: expected) else { return d }
        guard choices.contains(s) else { throw ConfigError(m, "\(dotted(key)): expected \(expected), got '\(s)'") }
        return s
    }

    /// A list of strings; a scalar (e.g. from an environment variable) is split on commas.
    package mutating func stringList(_ key: String, default d: [String]) throws(ConfigError) -> [String] {
        guard let v = value(key) else { return d }
        switch v {
        case .scalar(let s, _, _):
            return s.split(separator: ",").map { String($0.trimmingCharacters()) }.filter { !$0.isEmpty }
        case .sequence(let items, _):
            var out: [String] = []
            for item in items {
                guard case .scalar(let s, _, _) = item else { throw ConfigError(item.mark, "\(dotted(key)): expected a list of strings") }
                out.append(s)
            }
            return out
        case .mapping:
            throw ConfigError(v.mark, "\(dotted(key)): expected a list of strings")
        }
    }

    /// A mapping of names to positive numbers (e.g. per-method rate limits).
    package mutating func numberMap(_ key: String) throws(ConfigError) -> [String: Double] {
        guard let v = value(key) else { return [:] }
        guard case .mapping(let entries, _) = v else { throw ConfigError(v.mark, "\(dotted(key)): expected a mapping of names to numbers") }
        var out: [String: Double] = [:]
        for e in entries {
            guard case .scalar(let s, _, _) = e.value, let d = Double(s), d > 0, d.isFinite else {
                throw ConfigError(e.value.mark, "\(dotted(key)).\(e.key): expected a positive number")
            }
            out[e.key] = d
        }
        return out
    }

    /// A nested section.
    package mutating func section(_ key: String) throws(ConfigError) -> ConfigReader {
        asked.append(key)
        return try ConfigReader(node?[key], path: dotted(key), fallbackMark: mark)
    }

    /// Folds a finished child reader's keys into this one.
    package mutating func adopt(_ child: ConfigReader) throws(ConfigError) {
        try child.finish()
        knownKeys += child.knownKeys
    }

    /// Throws for the first key present in the mapping that nobody asked for.
    package func finish() throws(ConfigError) {
        guard case .mapping(let entries, _) = node else { return }
        for e in entries where !asked.contains(e.key) {
            let hint = asked.first(where: { editDistance($0, e.key) <= 2 }).map { " (did you mean '\($0)'?)" } ?? ""
            throw ConfigError(e.keyMark, "unknown key '\(dotted(e.key))'\(hint)")
        }
    }
}

/// Seconds from `30`, `1.5`, `250ms`, `30s`, `5m`, `2h`, `90d` (the SDK's rule, shared with plugins).
package func parseDuration(_ s: String) -> Double? { DurationText.seconds(s) }

/// Levenshtein distance, for "did you mean" hints on unknown keys.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var prev = Array(0...b.count)
    for i in 1...a.count {
        var cur = [i] + Array(repeating: 0, count: b.count)
        for j in 1...b.count {
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        prev = cur
    }
    return prev[b.count]
}

extension Substring {
    func trimmingCharacters() -> Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return s
    }
}
