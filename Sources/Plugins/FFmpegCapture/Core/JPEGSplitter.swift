/// Cuts a stream of concatenated JPEG images (FFmpeg's `-f image2pipe -c:v mjpeg pipe:1`) into
/// whole images: from a start-of-image marker (FF D8) to the end-of-image marker (FF D9).
/// Entropy-coded data never contains FF D9 (FF is followed by 00 there), so the first FF D9
/// after the markers that carry lengths ends the image. Bounded: an image over `maxImageBytes`
/// is dropped.
public struct JPEGSplitter: Sendable {
    let maxImageBytes: Int
    private var buffer: [UInt8] = []
    private var inImage = false
    /// Where the scan for the end marker resumes (bytes before it were checked).
    private var scanned = 0

    public init(maxImageBytes: Int = 16 << 20) { self.maxImageBytes = maxImageBytes }

    /// Feeds bytes; returns the images completed by them, in order.
    public mutating func feed(_ bytes: [UInt8]) -> [[UInt8]] {
        var images: [[UInt8]] = []
        buffer.append(contentsOf: bytes)
        while true {
            if !inImage {
                guard let start = find(0xD8, from: 0) else {
                    // Keep a trailing FF: it may be the first half of the next marker.
                    buffer = buffer.last == 0xFF ? [0xFF] : []
                    return images
                }
                buffer.removeFirst(start)
                inImage = true
                scanned = 2
            }
            guard let end = find(0xD9, from: scanned) else {
                scanned = max(2, buffer.count - 1)
                if buffer.count > maxImageBytes {
                    buffer = []
                    inImage = false
                }
                return images
            }
            images.append(Array(buffer[0..<(end + 2)]))
            buffer.removeFirst(end + 2)
            inImage = false
        }
    }

    private func find(_ marker: UInt8, from: Int) -> Int? {
        var i = max(0, from)
        while i + 1 < buffer.count {
            if buffer[i] == 0xFF && buffer[i + 1] == marker { return i }
            i += 1
        }
        return nil
    }
}
