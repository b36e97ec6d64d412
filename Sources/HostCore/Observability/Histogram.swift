/// A fixed-bucket latency histogram (Prometheus-style cumulative on output).
package struct Histogram: Sendable {
    /// Upper bounds in seconds, 100 µs … 10 s.
    package static let bounds: [Double] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    /// Counts per bucket; the last one is the overflow (+Inf) bucket.
    package private(set) var counts = [UInt64](repeating: 0, count: Histogram.bounds.count + 1)
    package private(set) var count: UInt64 = 0
    package private(set) var sum: Double = 0

    package init() {}

    package mutating func record(_ seconds: Double) {
        var i = 0
        while i < Histogram.bounds.count && seconds > Histogram.bounds[i] { i += 1 }
        counts[i] += 1
        count += 1
        sum += seconds
    }

    /// The q-quantile (0…1) in seconds, interpolated within its bucket.
    package func quantile(_ q: Double) -> Double {
        guard count > 0 else { return 0 }
        let rank = q * Double(count)
        var seen: UInt64 = 0
        for (i, c) in counts.enumerated() {
            let before = Double(seen)
            seen += c
            if Double(seen) >= rank, c > 0 {
                let lower = i == 0 ? 0 : Histogram.bounds[i - 1]
                let upper = i < Histogram.bounds.count ? Histogram.bounds[i] : Histogram.bounds[Histogram.bounds.count - 1]
                return lower + (upper - lower) * min(1, max(0, (rank - before) / Double(c)))
            }
        }
        return Histogram.bounds[Histogram.bounds.count - 1]
    }
}
