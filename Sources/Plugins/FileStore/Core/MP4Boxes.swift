/// Tells fragmented MP4 from plain MP4 by the top-level boxes (ISO/IEC 14496-12): a `moof`
/// (movie fragment), or an `mvex` box in `moov`, means fragmented. Pure: `read(offset, count)`
/// supplies bytes (nil past the end), so it never loads the file, only box headers.
public enum MP4Boxes {
    /// Whether the file is fragmented; nil when it does not look like ISO BMFF at all.
    public static func isFragmented(size: Int, maxBoxes: Int = 64, read: (Int, Int) -> [UInt8]?) -> Bool? {
        var offset = 0, boxes = 0
        while offset + 8 <= size, boxes < maxBoxes {
            guard let h = read(offset, 16), h.count >= 8 else { break }
            var length = Int(be32(h, 0))
            let type = String(decoding: h[4..<8], as: UTF8.self)
            var header = 8
            if length == 1 {
                guard h.count >= 16 else { return nil }
                length = Int(clamping: be64(h, 8))
                header = 16
            } else if length == 0 {
                length = size - offset  // to the end of the file
            }
            guard length >= header else { return boxes == 0 ? nil : false }
            if boxes == 0 && type != "ftyp" && type != "styp" { return nil }
            if type == "moof" || type == "mfra" { return true }
            if type == "moov", contains(type: "mvex", from: offset + header, to: min(offset + length, size), read: read) { return true }
            offset += length
            boxes += 1
        }
        return false
    }

    static func contains(type wanted: String, from start: Int, to end: Int, read: (Int, Int) -> [UInt8]?) -> Bool {
        var offset = start, n = 0
        while offset + 8 <= end, n < 256 {
            guard let h = read(offset, 8), h.count == 8 else { return false }
            let length = Int(be32(h, 0))
            if String(decoding: h[4..<8], as: UTF8.self) == wanted { return true }
            guard length >= 8 else { return false }
            offset += length
            n += 1
        }
        return false
    }

    static func be32(_ b: [UInt8], _ i: Int) -> UInt32 {
        UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])
    }

    static func be64(_ b: [UInt8], _ i: Int) -> UInt64 { UInt64(be32(b, i)) << 32 | UInt64(be32(b, i + 4)) }
}
