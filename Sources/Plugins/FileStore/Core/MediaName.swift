import PluginAPI

/// File names as the store accepts them: what the contract's `filename` rule allows (1–255
/// bytes, no `/`, `\`, `..`, NUL or control characters), as valid UTF-8. The HTTP route checks
/// names with this after percent-decoding (the host checks JSON-RPC parameters the same way).
public enum MediaName {
    /// The name `bytes` spell, or nil when it is not a safe plain file name.
    public static func validated(_ bytes: [UInt8]) -> String? {
        guard let ascii = bytesAreSafe(bytes) else { return nil }
        if ascii { return String(decoding: bytes, as: UTF8.self) }
        guard let name = String(validating: bytes, as: UTF8.self), scalarsAreSafe(name) else { return nil }
        return name
    }

    /// Whether `name` is a safe plain file name.
    public static func isSafe(_ name: String) -> Bool {
        guard let ascii = bytesAreSafe(name.utf8) else { return false }
        return ascii || scalarsAreSafe(name)
    }

    /// The byte rules (length, separators, `..`, C0 controls, DEL): nil when broken, else
    /// whether every byte is ASCII (then nothing more needs checking).
    static func bytesAreSafe<C: Collection>(_ bytes: C) -> Bool? where C.Element == UInt8 {
        let count = bytes.count
        guard count > 0, count <= 255 else { return nil }
        var ascii = true, previousDot = false
        for b in bytes {
            if b < 0x20 || b == 0x7F || b == UInt8(ascii: "/") || b == UInt8(ascii: "\\") { return nil }
            let dot = b == UInt8(ascii: ".")
            if dot && previousDot { return nil }
            previousDot = dot
            if b >= 0x80 { ascii = false }
        }
        return ascii
    }

    /// No C1 controls or format characters (bidirectional overrides, zero-width joiners).
    static func scalarsAreSafe(_ name: String) -> Bool {
        !name.unicodeScalars.contains { $0.properties.generalCategory == .control || $0.properties.generalCategory == .format }
    }

    /// The name percent-encoded for a URL path segment (RFC 3986 unreserved characters kept).
    public static func percentEncoded(_ name: String) -> String {
        var out = ""
        out.reserveCapacity(name.utf8.count)
        let hex = Array("0123456789ABCDEF".utf8)
        for b in name.utf8 {
            switch b {
            case 0x41...0x5A, 0x61...0x7A, 0x30...0x39, UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                out.unicodeScalars.append("%")
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(b >> 4)]))
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(b & 15)]))
            }
        }
        return out
    }
}

/// What a stored file is, by its extension: the catalogue's `format` and the download's
/// `Content-Type`. Files of other types in the store's directories are not catalogued.
public struct MediaType: Sendable, Equatable {
    /// `mp4`, `mkv`, `jpg`, `png` (a probe may later tell `fmp4` from `mp4`).
    public var format: String
    public var contentType: String

    public init(format: String, contentType: String) {
        self.format = format
        self.contentType = contentType
    }

    /// The type of `name` in a directory of `kind`, nil when the store does not keep such files.
    public static func of(_ name: String, kind: MediaKind) -> MediaType? {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return nil }
        switch (kind, name[name.index(after: dot)...].lowercased()) {
        case (.recordings, "mp4"): return MediaType(format: "mp4", contentType: "video/mp4")
        case (.recordings, "mkv"): return MediaType(format: "mkv", contentType: "video/x-matroska")
        case (.snapshots, "jpg"), (.snapshots, "jpeg"): return MediaType(format: "jpg", contentType: "image/jpeg")
        case (.snapshots, "png"): return MediaType(format: "png", contentType: "image/png")
        default: return nil
        }
    }
}
