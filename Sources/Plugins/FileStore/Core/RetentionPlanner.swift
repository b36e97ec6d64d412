import PluginAPI

/// Which files a retention policy removes (pure: the files, the time, the policy and the
/// files being written in; nothing read or deleted here).
///
/// - by age: files last modified more than `maxAgeDays` ago;
/// - by size: the oldest files while the store (every file, those being written included) is
///   larger than `maxSizeGB` (10^9 bytes);
/// - `manual`: nothing by itself; an explicit cleanup applies the age and size limits that are set.
///
/// Oldest first (creation time, then name); a file in use is never chosen.
public enum RetentionPlanner {
    /// Why a cleanup runs.
    public enum Trigger: Sendable {
        /// The periodic pass: only an enabled `age` or `size` policy acts.
        case periodic
        /// `cleanup_old_files`: an enabled policy of any type acts, `manual` with every limit set.
        case request
    }

    public static func plan(_ files: [StoredFile], now: Double, policy: RetentionPolicy, inUse: Set<FileKey>, trigger: Trigger) -> [StoredFile] {
        guard policy.enabled else { return [] }
        var ageLimit: Double?, sizeLimit: Double?
        switch policy.type {
        case .age: ageLimit = policy.maxAgeDays
        case .size: sizeLimit = policy.maxSizeGB
        default:  // manual
            guard trigger == .request else { return [] }
            ageLimit = policy.maxAgeDays
            sizeLimit = policy.maxSizeGB
        }
        guard ageLimit != nil || sizeLimit != nil else { return [] }
        let oldestFirst = files.sorted { ($0.createdNs, $0.name) < ($1.createdNs, $1.name) }
        var chosen = [Bool](repeating: false, count: oldestFirst.count)
        var total = files.reduce(0) { $0 + $1.size }
        func removable(_ f: StoredFile) -> Bool { !inUse.contains(FileKey(kind: f.kind, device: f.device, name: f.name)) }
        if let days = ageLimit {
            let cutoff = now - days * 86400
            for (i, f) in oldestFirst.enumerated() where f.modified < cutoff && removable(f) {
                chosen[i] = true
                total -= f.size
            }
        }
        if let gb = sizeLimit {
            let limit = gb * 1e9
            for (i, f) in oldestFirst.enumerated() where Double(total) > limit {
                guard !chosen[i], removable(f) else { continue }
                chosen[i] = true
                total -= f.size
            }
        }
        return oldestFirst.indices.filter { chosen[$0] }.map { oldestFirst[$0] }
    }
}
