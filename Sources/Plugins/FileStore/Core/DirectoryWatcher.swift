import Codecs
import Glibc
import PluginAPI
import Synchronization

/// Watches the store's directories with inotify on its own thread: each kind directory (for
/// cameras' subdirectories coming and going) and each camera directory (files created,
/// written, truncated, touched, renamed, deleted). Changes are collected for `debounce`
/// seconds after the first one and delivered together, each at most once.
public final class DirectoryWatcher: Sendable {
    public enum Change: Hashable, Sendable {
        /// One file may have changed.
        case file(FileKey)
        /// A camera directory appeared or vanished: rescan it.
        case camera(MediaKind, String)
        /// Events were lost (queue overflow) or a kind directory went away: rescan everything.
        case everything
    }

    private struct Watch: Sendable {
        var kind: MediaKind
        var device: String?
    }

    private let fd: Int32
    private let wake: (read: Int32, write: Int32)
    private let roots: [(kind: MediaKind, path: String)]
    private let watches = Mutex<[Int32: Watch]>([:])
    private let stopped = Atomic<Bool>(false)
    static let rootMask = UInt32(IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)
    static let cameraMask = UInt32(IN_CREATE | IN_CLOSE_WRITE | IN_MODIFY | IN_ATTRIB | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO
                                   | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)
    /// More pending changes than this: one rescan of everything is cheaper.
    static let maxPending = 20_000

    /// Nil when inotify is not available (the periodic rescan then does all the work).
    public init?(roots: [(kind: MediaKind, path: String)], debounce: Double, deliver: @escaping @Sendable ([Change]) -> Void) {
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { return nil }
        var p: [Int32] = [-1, -1]
        guard pipe(&p) == 0 else {
            close(fd)
            return nil
        }
        for end in p { _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK); _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        self.fd = fd
        wake = (p[0], p[1])
        self.roots = roots
        watchAll()
        spawnThread { [self] in loop(debounce: debounce, deliver: deliver) }
    }

    /// (Re)adds the watches of the kind directories and of every camera directory in them
    /// (adding one twice is harmless: inotify returns the same watch).
    public func watchAll() {
        guard !stopped.load(ordering: .relaxed) else { return }
        for root in roots {
            let wd = inotify_add_watch(fd, root.path, DirectoryWatcher.rootMask)
            if wd >= 0 { watches.withLock { $0[wd] = Watch(kind: root.kind, device: nil) } }
            for device in DirectoryScanner.cameras(root.path) { watchCamera(root.kind, device) }
        }
    }

    /// Watches one camera's directory (the store calls it when it creates one).
    public func watchCamera(_ kind: MediaKind, _ device: String) {
        guard !stopped.load(ordering: .relaxed), let root = roots.first(where: { $0.kind == kind }) else { return }
        let wd = inotify_add_watch(fd, root.path + "/" + device, DirectoryWatcher.cameraMask)
        if wd >= 0 { watches.withLock { $0[wd] = Watch(kind: kind, device: device) } }
    }

    /// Ends the thread; later calls add no watches.
    public func stop() {
        guard !stopped.exchange(true, ordering: .relaxed) else { return }
        var b: UInt8 = 1
        _ = write(wake.write, &b, 1)
    }

    private func loop(debounce: Double, deliver: @Sendable ([Change]) -> Void) {
        var pending = Set<Change>()
        var order: [Change] = []
        var deadline: Double?
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while !stopped.load(ordering: .relaxed) {
            var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0)]
            let timeout = deadline.map { Int32(max(0, ($0 - Timestamp.monotonic()) * 1000).rounded(.up)) } ?? -1
            let n = poll(&fds, 2, timeout)
            if n < 0 && errno != EINTR { break }
            if fds[0].revents & Int16(POLLIN) != 0 {
                for change in drain(&buffer) where !pending.contains(.everything) && pending.insert(change).inserted {
                    order.append(change)
                    if deadline == nil { deadline = Timestamp.monotonic() + debounce }
                    if change == .everything || pending.count > DirectoryWatcher.maxPending {
                        // Bounded: one rescan of everything replaces what was collected.
                        pending = [.everything]
                        order = [.everything]
                    }
                }
            }
            if let d = deadline, Timestamp.monotonic() >= d {
                deliver(order)
                pending.removeAll(keepingCapacity: true)
                order.removeAll(keepingCapacity: true)
                deadline = nil
            }
        }
    }

    // After the thread ended (it holds the watcher while it runs), so no call ever uses a
    // closed (or reused) descriptor.
    deinit {
        close(fd)
        close(wake.read)
        close(wake.write)
    }

    /// Reads every queued event and turns them into changes.
    private func drain(_ buffer: inout [UInt8]) -> [Change] {
        var out: [Change] = []
        for r in InotifyRecord.drain(fd, buffer: &buffer) {
            if r.has(IN_Q_OVERFLOW) {
                out.append(.everything)
                continue
            }
            guard let watch = watches.withLock({ $0[r.wd] }) else { continue }
            if r.has(IN_IGNORED) {
                // The watched directory is gone (or was replaced): forget it, rescan what it was.
                watches.withLock { _ = $0.removeValue(forKey: r.wd) }
                out.append(watch.device.map { .camera(watch.kind, $0) } ?? .everything)
                continue
            }
            if r.has(IN_DELETE_SELF | IN_MOVE_SELF) {
                out.append(watch.device.map { .camera(watch.kind, $0) } ?? .everything)
                continue
            }
            guard let name = String(validating: r.name, as: UTF8.self), !name.isEmpty else { continue }
            if let device = watch.device {
                if !r.has(IN_ISDIR) { out.append(.file(FileKey(kind: watch.kind, device: device, name: name))) }
            } else if r.has(IN_ISDIR), Identifier.isValid(name) {
                if r.has(IN_CREATE | IN_MOVED_TO) { watchCamera(watch.kind, name) }
                out.append(.camera(watch.kind, name))
            }
        }
        return out
    }
}
