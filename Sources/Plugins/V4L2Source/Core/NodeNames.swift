/// `video<N>` node names and the `camera<N>` ids the contract derives from them.
public enum NodeNames {
    /// N for `video<N>` (no sign, no leading junk), nil for anything else.
    public static func index(_ name: String) -> Int? {
        guard name.hasPrefix("video") else { return nil }
        let digits = name.dropFirst(5)
        guard !digits.isEmpty, digits.count <= 6, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(digits)
    }

    public static func cameraID(_ index: Int) -> String { "camera\(index)" }

    /// N for `camera<N>`.
    public static func index(ofCamera id: String) -> Int? {
        guard id.hasPrefix("camera") else { return nil }
        return index("video" + id.dropFirst(6))
    }
}
