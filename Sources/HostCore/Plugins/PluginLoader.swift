import Glibc
import PluginAPI

/// Why a plugin library could not be used. Each case is one clear log line naming the file.
package enum PluginLoadError: Error, Sendable, CustomStringConvertible {
    case notFound(library: String, searched: [String])
    case dlopenFailed(path: String, message: String)
    case notAPlugin(path: String, message: String)
    case versionMismatch(path: String, plugin: UInt32, host: UInt32)
    case privateAPICopy(path: String)
    case wrongType(path: String, typeName: String)
    case activationFailed(path: String, message: String)

    package var description: String {
        switch self {
        case .notFound(let library, let searched):
            return "plugin library \(library) not found (searched: \(searched.joined(separator: ", ")))"
        case .dlopenFailed(let path, let message):
            return "cannot load plugin \(path): \(message)"
        case .notAPlugin(let path, let message):
            return "\(path) is not a plugin (no \(pluginVersionSymbol)): \(message)"
        case .versionMismatch(let path, let plugin, let host):
            let p = pluginAPIVersionParts(plugin), h = pluginAPIVersionParts(host)
            return "\(path) was built against PluginAPI \(p.major).\(p.minor), host provides \(h.major).\(h.minor) (needs the same major and a minor not above the host's)"
        case .privateAPICopy(let path):
            return "\(path) contains its own (statically linked) copy of PluginAPI; rebuild it against the shared libPluginAPI.so"
        case .wrongType(let path, let typeName):
            return "\(path): entry point returned \(typeName), which does not conform to PluginAPI.Plugin"
        case .activationFailed(let path, let message):
            return "\(path): activation failed: \(message)"
        }
    }
}

/// A plugin library that loaded and passed every check.
package struct LoadedLibrary: Sendable {
    package let path: String
    package let apiVersion: UInt32
    package let plugin: any Plugin
}

/// Loads plugin libraries with `dlopen` and checks them before any plugin code runs beyond
/// the two entry points. Libraries are never `dlclose`d: Swift keeps their type metadata
/// registered, and the next cast would crash (see docs/plugins.md).
package enum PluginLoader {
    /// The mangled protocol descriptor of `PluginAPI.Plugin`: a plugin that exports its own
    /// has linked a private PluginAPI copy, and every cast from it would fail.
    static let pluginProtocolDescriptor = "$s9PluginAPI0A0Mp"

    /// Where `library` is: a path as given (relative to `baseDir`), or `lib<Name>.so` in `dirs`.
    package static func resolve(_ library: String, dirs: [String], baseDir: String) throws(PluginLoadError) -> String {
        if library.contains("/") {
            return FileIO.resolve(library, against: baseDir)
        }
        let file = library.hasSuffix(".so") ? library : "lib\(library).so"
        for dir in dirs {
            let candidate = dir.hasSuffix("/") ? dir + file : dir + "/" + file
            if FileIO.exists(candidate) { return candidate }
        }
        throw .notFound(library: file, searched: dirs)
    }

    package static func load(path: String) throws(PluginLoadError) -> LoadedLibrary {
        _ = dlerror()
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            throw .dlopenFailed(path: path, message: lastError())
        }
        // From here on the library stays mapped, even when rejected (never dlclose).
        guard let versionSym = dlsym(handle, pluginVersionSymbol) else {
            throw .notAPlugin(path: path, message: lastError())
        }
        let version = unsafeBitCast(versionSym, to: (@convention(c) () -> UInt32).self)()
        let host = pluginAPIVersionParts(pluginAPIVersion), theirs = pluginAPIVersionParts(version)
        guard theirs.major == host.major, theirs.minor <= host.minor else {
            throw .versionMismatch(path: path, plugin: version, host: pluginAPIVersion)
        }
        if let mine = dlsym(nil, pluginProtocolDescriptor),
           let their = dlsym(handle, pluginProtocolDescriptor), mine != their {
            throw .privateAPICopy(path: path)
        }
        guard let createSym = dlsym(handle, pluginCreateSymbol) else {
            throw .notAPlugin(path: path, message: "no \(pluginCreateSymbol) symbol")
        }
        let create = unsafeBitCast(createSym, to: (@convention(c) () -> UnsafeMutableRawPointer?).self)
        guard let raw = create() else { throw .wrongType(path: path, typeName: "a null pointer") }
        let object = Unmanaged<AnyObject>.fromOpaque(raw).takeRetainedValue()
        guard let plugin = object as? any Plugin else {
            throw .wrongType(path: path, typeName: String(reflecting: type(of: object)))
        }
        return LoadedLibrary(path: path, apiVersion: version, plugin: plugin)
    }

    static func lastError() -> String {
        guard let e = dlerror() else { return "unknown dynamic loader error" }
        return String(cString: e)
    }
}
