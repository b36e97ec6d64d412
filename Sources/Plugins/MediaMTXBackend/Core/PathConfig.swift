import PluginAPI

/// The MediaMTX path configuration for one camera: a publisher path whose on-demand command
/// reads the device (the one reader of it) and publishes; restarted if it dies.
public enum PathConfig {
    public static func body(device: String, input: CaptureInput, settings: MediaMTXSettings) -> JSONObject {
        ["source": "publisher",
         "runOnDemand": .string(PublishCommand.command(device: device, input: input, settings: settings)),
         "runOnDemandRestart": true,
         "runOnDemandStartTimeout": .string(goDuration(settings.startTimeout)),
         "runOnDemandCloseAfter": .string(goDuration(settings.closeAfter))]
    }

    /// Whether a configuration MediaMTX holds is one of ours (our command's marker is in it).
    public static func isOurs(_ conf: JSONObject) -> Bool {
        conf["runOnDemand"]?.stringValue?.contains("title=\(PublishCommand.marker):") == true
    }

    /// Whether MediaMTX's (merged) configuration already says what `wanted` says.
    public static func matches(_ conf: JSONObject, _ wanted: JSONObject) -> Bool {
        for (k, v) in wanted {
            guard let have = conf[k] else { return false }
            if have == v { continue }
            // Durations come back in Go form ("10s" for "10s", "5m0s" for "300s").
            if let a = have.stringValue, let b = v.stringValue, let da = goDurationSeconds(a), let db = goDurationSeconds(b), da == db { continue }
            return false
        }
        return true
    }

    /// Seconds as a Go duration MediaMTX accepts (`10s`, `1.5s`).
    public static func goDuration(_ s: Double) -> String {
        s == s.rounded() ? "\(Int(s))s" : "\(Int((s * 1000).rounded()))ms"
    }

    /// A Go duration (`1h0m0s`, `300ms`, `1d`) in seconds; nil when it is not one.
    public static func goDurationSeconds(_ text: String) -> Double? {
        if text.isEmpty { return 0 }
        var total = 0.0, number = "", i = text.startIndex
        while i < text.endIndex {
            let c = text[i]
            if c.isNumber || c == "." { number.append(c); i = text.index(after: i); continue }
            var unit = String(c)
            let next = text.index(after: i)
            if (c == "m" || c == "u" || c == "n" || c == "µ"), next < text.endIndex, text[next] == "s" { unit += "s"; i = text.index(after: next) } else { i = next }
            guard let v = Double(number) else { return nil }
            number = ""
            switch unit {
            case "d": total += v * 86400
            case "h": total += v * 3600
            case "m": total += v * 60
            case "s": total += v
            case "ms": total += v / 1000
            case "us", "µs": total += v / 1_000_000
            case "ns": total += v / 1_000_000_000
            default: return nil
            }
        }
        return number.isEmpty ? total : nil
    }
}
