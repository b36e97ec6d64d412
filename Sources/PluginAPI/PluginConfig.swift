/// Typed reads of a plugin's `config:` mapping that fail with a ``PluginConfigError`` naming
/// the key, so every plugin reports bad configuration the same way.
extension JSONObject {
    /// A string, or `defaultValue` when absent.
    public func configString(_ key: String, default defaultValue: String) throws(PluginConfigError) -> String {
        guard let v = self[key], !v.isNull else { return defaultValue }
        guard let s = v.stringValue else { throw PluginConfigError(key: key, problem: "expected a string, got \(v.typeName)") }
        return s
    }

    /// An optional string.
    public func configOptionalString(_ key: String) throws(PluginConfigError) -> String? {
        guard let v = self[key], !v.isNull else { return nil }
        guard let s = v.stringValue else { throw PluginConfigError(key: key, problem: "expected a string, got \(v.typeName)") }
        return s
    }

    /// An integer within `range`, or `defaultValue` when absent.
    public func configInt(_ key: String, default defaultValue: Int, range: ClosedRange<Int>) throws(PluginConfigError) -> Int {
        guard let v = self[key], !v.isNull else { return defaultValue }
        guard let i = v.intValue, range.contains(i) else {
            throw PluginConfigError(key: key, problem: "expected an integer from \(range.lowerBound) to \(range.upperBound), got \(v)")
        }
        return i
    }

    /// A number within `range`, or `defaultValue` when absent.
    public func configDouble(_ key: String, default defaultValue: Double, range: ClosedRange<Double>) throws(PluginConfigError) -> Double {
        guard let v = self[key], !v.isNull else { return defaultValue }
        guard let d = v.doubleValue, range.contains(d) else {
            throw PluginConfigError(key: key, problem: "expected a number from \(range.lowerBound) to \(range.upperBound), got \(v)")
        }
        return d
    }

    /// A boolean, or `defaultValue` when absent.
    public func configBool(_ key: String, default defaultValue: Bool) throws(PluginConfigError) -> Bool {
        guard let v = self[key], !v.isNull else { return defaultValue }
        guard let b = v.boolValue else { throw PluginConfigError(key: key, problem: "expected true or false, got \(v)") }
        return b
    }

    /// Throws for the first key not in `allowed` (catches typos in plugins.yaml).
    public func rejectUnknownKeys(allowed: [String]) throws(PluginConfigError) {
        for k in keys where !allowed.contains(k) {
            throw PluginConfigError(key: k, problem: "unknown key (known: \(allowed.joined(separator: ", ")))")
        }
    }
}

extension JSONObject {
    /// A duration in seconds: a number, or text with a unit (`250ms`, `30s`, `5m`, `2h`, `1d`),
    /// within `range`; `defaultValue` when absent.
    public func configSeconds(_ key: String, default defaultValue: Double, range: ClosedRange<Double>) throws(PluginConfigError) -> Double {
        guard let v = self[key], !v.isNull else { return defaultValue }
        let seconds = v.doubleValue ?? v.stringValue.flatMap(DurationText.seconds)
        guard let seconds, range.contains(seconds) else {
            throw PluginConfigError(key: key, problem: "expected a duration such as 30s or 5m between \(range.lowerBound)s and \(range.upperBound)s, got \(v)")
        }
        return seconds
    }

    /// One of `choices`, or `defaultValue` when absent.
    public func configChoice(_ key: String, default defaultValue: String, from choices: [String]) throws(PluginConfigError) -> String {
        let s = try configString(key, default: defaultValue)
        guard choices.contains(s) else { throw PluginConfigError(key: key, problem: "expected one of \(choices.joined(separator: ", ")), got '\(s)'") }
        return s
    }
}

/// Durations as configuration writes them.
public enum DurationText {
    /// Seconds from `30`, `1.5`, `250ms`, `30s`, `5m`, `2h`, `90d`; nil for anything else.
    public static func seconds(_ s: String) -> Double? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
        for (suffix, factor) in units where s.hasSuffix(suffix) {
            let number = s.dropLast(suffix.count)
            if let v = Double(number), v >= 0, v.isFinite, number.first?.isNumber == true { return v * factor }
        }
        if let v = Double(s), v >= 0, v.isFinite, s.first?.isNumber == true { return v }
        return nil
    }
}
