/// Splits a child's output into lines with bounded memory: a line longer than `maxLineBytes`
/// is cut there (marked with `…`) and the rest of it is skipped, so a child that prints
/// megabytes without a newline holds at most `maxLineBytes` here.
struct LineSplitter {
    let maxLineBytes: Int
    private var partial: [UInt8] = []
    private var skipping = false

    init(maxLineBytes: Int) { self.maxLineBytes = maxLineBytes }

    /// Bytes held for an unfinished line.
    var bufferedBytes: Int { partial.count }

    /// Feeds bytes; calls `line` for every complete non-empty line. CR ends a line too (FFmpeg
    /// rewrites its status line with CR).
    mutating func feed(_ bytes: UnsafeRawBufferPointer, line: (String) -> Void) {
        var start = 0
        for i in 0..<bytes.count where bytes[i] == 0x0A || bytes[i] == 0x0D {
            append(bytes, start, i, line)
            if skipping { skipping = false } else if !partial.isEmpty { emit(line) }  // empty lines (and CR LF's second half) are dropped
            partial.removeAll(keepingCapacity: true)
            start = i + 1
        }
        append(bytes, start, bytes.count, line)
    }

    /// The end of the output: the last line if it had no newline.
    mutating func finish(line: (String) -> Void) {
        if !partial.isEmpty && !skipping { emit(line) }
        partial.removeAll()
        skipping = false
    }

    private mutating func append(_ bytes: UnsafeRawBufferPointer, _ from: Int, _ to: Int, _ line: (String) -> Void) {
        guard !skipping, to > from else { return }
        let room = maxLineBytes - partial.count
        if to - from <= room {
            partial.append(contentsOf: bytes[from..<to])
            return
        }
        partial.append(contentsOf: bytes[from..<(from + room)])
        partial.append(contentsOf: [0xE2, 0x80, 0xA6])  // …
        emit(line)
        partial.removeAll(keepingCapacity: true)
        skipping = true
    }

    private func emit(_ line: (String) -> Void) {
        line(String(decoding: partial, as: UTF8.self))
    }
}

/// The last `capacity` lines, for error messages (what a failed child said last).
struct LineTail {
    let capacity: Int
    private(set) var lines: [String] = []
    init(capacity: Int) { self.capacity = capacity }
    mutating func add(_ line: String) {
        if lines.count == capacity { lines.removeFirst() }
        lines.append(line)
    }
}

/// At most `perSecond` lines a second go to the log; the rest are counted and summarised, so
/// a chatty child cannot flood the log or the daemon's memory.
struct LogRateLimit {
    let perSecond: Int
    private var windowStart = 0.0
    private var inWindow = 0
    private(set) var suppressed = 0

    init(perSecond: Int) { self.perSecond = perSecond }

    /// Whether a line may be logged now; `summary` receives the count of lines dropped in the
    /// previous window when a new window opens.
    mutating func admit(now: Double, summary: (Int) -> Void) -> Bool {
        if now - windowStart >= 1 {
            if suppressed > 0 { summary(suppressed) }
            windowStart = now
            inWindow = 0
            suppressed = 0
        }
        guard inWindow < perSecond else {
            suppressed += 1
            return false
        }
        inWindow += 1
        return true
    }

    /// The end of the output: reports what the last window dropped.
    mutating func finish(summary: (Int) -> Void) {
        if suppressed > 0 { summary(suppressed) }
        suppressed = 0
    }
}
