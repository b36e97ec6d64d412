import Codecs

/// Time sources: a monotonic clock for durations and timeouts, wall time for clients.
package enum HostClock {
    /// Seconds on the monotonic clock (not affected by wall-clock changes).
    @inline(__always)
    package static func monotonic() -> Double { Timestamp.monotonic() }

    /// Seconds since the Unix epoch.
    @inline(__always)
    package static func now() -> Double { Timestamp.now() }

    /// RFC 3339 in UTC with milliseconds, e.g. `2026-11-21T09:42:57.123Z`.
    package static func rfc3339(_ t: Double) -> String { Timestamp.rfc3339(t) }
}
