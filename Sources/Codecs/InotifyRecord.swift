import Glibc

/// One record read from an inotify descriptor (inotify(7)): a fixed header, then the name
/// of the entry in the watched directory, NUL-padded (empty for the directory itself).
/// Decoding is pure; `drain` is the one place that reads such a descriptor.
public struct InotifyRecord: Equatable, Sendable {
    public var wd: Int32
    public var mask: UInt32
    /// The name's bytes, without the padding (a file name need not be UTF-8).
    public var name: [UInt8]

    public init(wd: Int32, mask: UInt32, name: [UInt8]) {
        self.wd = wd
        self.mask = mask
        self.name = name
    }

    /// Whether the mask has any of `bits` (e.g. `IN_CREATE | IN_MOVED_TO`).
    public func has<Bits: BinaryInteger>(_ bits: Bits) -> Bool { mask & UInt32(truncatingIfNeeded: bits) != 0 }

    /// The records in `bytes`; a record cut short at the end is dropped.
    public static func decode(_ bytes: UnsafeRawBufferPointer) -> [InotifyRecord] {
        var out: [InotifyRecord] = []
        let header = MemoryLayout<inotify_event>.size
        var offset = 0
        while offset + header <= bytes.count {
            let ev = bytes.loadUnaligned(fromByteOffset: offset, as: inotify_event.self)
            let end = offset + header + Int(ev.len)
            guard end <= bytes.count else { break }
            let name = Array(bytes[(offset + header)..<end].prefix { $0 != 0 })
            out.append(InotifyRecord(wd: ev.wd, mask: ev.mask, name: name))
            offset = end
        }
        return out
    }

    /// Reads every record queued on the non-blocking inotify descriptor `fd` (the kernel
    /// returns whole records only); `buffer` is reused between calls.
    public static func drain(_ fd: Int32, buffer: inout [UInt8]) -> [InotifyRecord] {
        var out: [InotifyRecord] = []
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { return out }
            buffer.withUnsafeBytes { out += decode(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
    }
}
