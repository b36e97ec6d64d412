import Glibc
import PluginAPI

/// Reads the store's directories (blocking: the store's thread calls it): `<kind dir>/<camera>/<file>`,
/// cameras being subdirectories named like camera ids, files being regular files (never
/// symlinks) with a safe name, not hidden, of a type the kind keeps.
public enum DirectoryScanner {
    /// Every file of `kind` under `root`.
    public static func scan(_ kind: MediaKind, root: String) -> [StoredFile] {
        var out: [StoredFile] = []
        for device in cameras(root) { out += scan(kind, root: root, device: device) ?? [] }
        return out
    }

    /// The camera subdirectories of `root`.
    public static func cameras(_ root: String) -> [String] {
        guard let dir = opendir(root) else { return [] }
        defer { closedir(dir) }
        let fd = dirfd(dir)
        var out: [String] = []
        while let entry = readdir(dir) {
            guard let name = entryName(entry), Identifier.isValid(name) else { continue }
            var st = stat()
            guard fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0, st.st_mode & S_IFMT == S_IFDIR else { continue }
            out.append(name)
        }
        return out
    }

    /// The files of one camera; nil when its directory is not there (or is not a directory).
    public static func scan(_ kind: MediaKind, root: String, device: String) -> [StoredFile]? {
        let path = root + "/" + device
        var st = stat()
        guard lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFDIR, let dir = opendir(path) else { return nil }
        defer { closedir(dir) }
        let fd = dirfd(dir)
        var out: [StoredFile] = []
        while let entry = readdir(dir) {
            guard let name = entryName(entry) else { continue }
            // d_type says what it is on most filesystems: skip directories and symlinks unstat'ed.
            let type = entry.pointee.d_type
            if type != UInt8(DT_REG) && type != UInt8(DT_UNKNOWN) { continue }
            if let f = file(kind, device: device, name: name, dirFD: fd) { out.append(f) }
        }
        return out
    }

    /// One file as the store sees it, nil when it is not there or not one the store keeps.
    public static func file(_ kind: MediaKind, root: String, device: String, name: String) -> StoredFile? {
        guard Identifier.isValid(device) else { return nil }
        let fd = open(root + "/" + device, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return file(kind, device: device, name: name, dirFD: fd)
    }

    static func file(_ kind: MediaKind, device: String, name: String, dirFD: Int32) -> StoredFile? {
        guard !name.hasPrefix("."), MediaName.isSafe(name), let type = MediaType.of(name, kind: kind) else { return nil }
        var st = stat()
        guard fstatat(dirFD, name, &st, AT_SYMLINK_NOFOLLOW) == 0, st.st_mode & S_IFMT == S_IFREG else { return nil }
        let mtime = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
        return StoredFile(kind: kind, device: device, name: name, size: Int(st.st_size), modifiedNs: mtime,
                          createdNs: FileTimes.createdNs(name: name, device: device, modifiedNs: mtime), format: type.format)
    }

    static func entryName(_ entry: UnsafeMutablePointer<dirent>) -> String? {
        let name = withUnsafeBytes(of: &entry.pointee.d_name) { raw -> String? in
            guard let nul = raw.firstIndex(of: 0) else { return nil }
            return String(validating: raw[..<nul], as: UTF8.self)
        }
        guard let name, name != ".", name != ".." else { return nil }
        return name
    }
}
