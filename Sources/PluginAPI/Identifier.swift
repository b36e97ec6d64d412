/// Names the contract restricts to `^[a-z][a-z0-9_]{0,63}$`: camera ids of non-V4L2 sources
/// (`<prefix>_<name>`) and plugin names.
public enum Identifier {
    /// Whether `s` is a valid identifier.
    public static func isValid(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard let first = u.first, first >= 0x61, first <= 0x7A, u.count <= 64 else { return false }
        return u.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F }
    }
}
