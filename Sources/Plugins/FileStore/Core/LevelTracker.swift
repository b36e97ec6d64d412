import PluginAPI

/// The store's level against its thresholds, with hysteresis: a level is entered when usage
/// reaches its threshold and left only when usage falls `hysteresis` points below it, so a
/// value hovering at a threshold reports one crossing, not one per measurement.
public struct LevelTracker: Sendable {
    public let warnPercent: Double
    public let blockPercent: Double
    public let hysteresis: Double
    /// Nil before the first measurement.
    public private(set) var level: StorageLevel?

    public init(warnPercent: Double, blockPercent: Double, hysteresis: Double = 1) {
        self.warnPercent = warnPercent
        self.blockPercent = blockPercent
        self.hysteresis = hysteresis
    }

    /// The level of `percent` without history.
    public func classify(_ percent: Double) -> StorageLevel {
        percent >= blockPercent ? .critical : (percent >= warnPercent ? .warning : .normal)
    }

    /// Takes a measurement; returns the change when it crosses a threshold (the first
    /// measurement counts as a change from normal when it is above the warn threshold).
    public mutating func update(_ percent: Double) -> (from: StorageLevel, to: StorageLevel)? {
        let raw = classify(percent)
        guard let current = level else {
            level = raw
            return raw == .normal ? nil : (.normal, raw)
        }
        var next = current
        if raw > current {
            next = raw
        } else if raw < current {
            // Leave a level only well below its threshold.
            if current == .critical && percent < blockPercent - hysteresis {
                next = percent < warnPercent - hysteresis ? .normal : .warning
            } else if current == .warning && percent < warnPercent - hysteresis {
                next = .normal
            }
        }
        guard next != current else { return nil }
        level = next
        return (current, next)
    }
}
