import PluginAPI

/// A token bucket: `rate` tokens per second up to `burst`; one token per request.
package struct TokenBucket: Sendable {
    package let rate: Double
    package let burst: Double
    private var tokens: Double
    private var updated: Double

    package init(rate: Double, burst: Double, now: Double) {
        self.rate = rate
        self.burst = burst
        tokens = burst
        updated = now
    }

    /// Takes a token; when none is left, how many milliseconds until one is.
    package mutating func take(now: Double) -> Int? {
        tokens = min(burst, tokens + (now - updated) * rate)
        updated = now
        if tokens >= 1 {
            tokens -= 1
            return nil
        }
        return max(1, Int(((1 - tokens) / rate * 1000).rounded(.up)))
    }
}

/// Rate limits from `security.rate_limit`.
package struct RateLimitSettings: Sendable {
    /// Requests per second per connection (all methods together).
    package var requestsPerSecond: Double = 100
    package var burst: Double = 200
    /// Tighter per-connection limits for particular methods, requests per second.
    package var methods: [String: Double] = [:]
    /// Failed authentications from one IP before further attempts are refused for a while.
    package var authFailuresBeforeBackoff = 5
    package init() {}
}

/// Per-IP memory of failed authentications: after `threshold` failures in a row, further
/// attempts are refused for a time that doubles with each failure (1 s … 60 s). Success
/// forgets the IP. Bounded: the oldest entries go first.
package struct AuthThrottle: Sendable {
    struct Entry {
        var failures: Int
        var lastFailure: Double
        var blockedUntil: Double
    }
    private var entries: [String: Entry] = [:]
    let threshold: Int
    static let capacity = 10_000
    static let forgetAfter = 600.0

    package init(threshold: Int) { self.threshold = threshold }

    /// Milliseconds to wait before this IP may try again, nil when it may try now.
    package func retryAfter(_ ip: String, now: Double) -> Int? {
        guard let e = entries[ip], e.blockedUntil > now else { return nil }
        return Int(((e.blockedUntil - now) * 1000).rounded(.up))
    }

    package mutating func failed(_ ip: String, now: Double) {
        if entries.count >= AuthThrottle.capacity, entries[ip] == nil {
            entries = entries.filter { now - $0.value.lastFailure < AuthThrottle.forgetAfter }
            if entries.count >= AuthThrottle.capacity, let oldest = entries.min(by: { $0.value.lastFailure < $1.value.lastFailure }) {
                entries.removeValue(forKey: oldest.key)
            }
        }
        var e = entries[ip] ?? Entry(failures: 0, lastFailure: now, blockedUntil: 0)
        if now - e.lastFailure > AuthThrottle.forgetAfter { e.failures = 0 }
        e.failures += 1
        e.lastFailure = now
        if e.failures >= threshold {
            let exponent = min(e.failures - threshold, 6)
            e.blockedUntil = now + min(60, Double(1 << exponent))
        }
        entries[ip] = e
    }

    package mutating func succeeded(_ ip: String) { entries.removeValue(forKey: ip) }
}
