// swift-tools-version:6.0
// camera-service: the host executable, its plugins (each a .dynamic product the host dlopens,
// never links) and the C system libraries they use. PluginAPI is a separate package so that
// host and plugins share one libPluginAPI.so (see docs/plugins.md).
import PackageDescription

let api: Target.Dependency = .product(name: "PluginAPI", package: "PluginAPI")

/// In-tree plugins: each becomes lib<Name>.so beside the executable. A plugin is a thin entry
/// (Sources/Plugins/<Name>/Plugin) over an optional self-contained core
/// (Sources/Plugins/<Name>/Core, target <Name>Core) that tests can use directly.
let plugins: [(name: String, core: [Target.Dependency]?, deps: [Target.Dependency])] = [
    ("V4L2Source", ["CV4L2", "CUdev", "Codecs"], []),
    ("MediaMTXBackend", ["Codecs"], []),
    ("FFmpegCapture", ["Codecs"], []),
    ("JWTAuth", ["Codecs"], ["Codecs"]),
    ("FileStore", ["CSQLite", "Codecs"], []),
    ("TestPatternSource", nil, []),
]

let pluginTargets: [Target] = plugins.flatMap { p -> [Target] in
    var targets: [Target] = []
    var deps: [Target.Dependency] = [api] + p.deps
    if let coreDeps = p.core {
        targets.append(.target(name: "\(p.name)Core", dependencies: [api] + coreDeps, path: "Sources/Plugins/\(p.name)/Core"))
        deps.append(.target(name: "\(p.name)Core"))
    }
    targets.append(.target(name: p.name, dependencies: deps, path: "Sources/Plugins/\(p.name)/Plugin"))
    return targets
}

let package = Package(
    name: "camera-service",
    products: [.executable(name: "camera-service", targets: ["Host"])]
        + plugins.map { .library(name: $0.name, type: .dynamic, targets: [$0.name]) },
    dependencies: [.package(path: "Sources/PluginAPI")],
    targets: [
        .systemLibrary(name: "CYaml", path: "Sources/CSystem/CYaml", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        .systemLibrary(name: "COpenSSL", path: "Sources/CSystem/COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CUdev", path: "Sources/CSystem/CUdev", pkgConfig: "libudev", providers: [.apt(["libudev-dev"])]),
        .systemLibrary(name: "CV4L2", path: "Sources/CSystem/CV4L2"),
        .systemLibrary(name: "CLinux", path: "Sources/CSystem/CLinux"),
        // The FileStore catalogue.
        .systemLibrary(name: "CSQLite", path: "Sources/CSystem/CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        // Base64, digests, HMAC, randomness (OpenSSL), shared by the host and plugin cores.
        .target(name: "Codecs", dependencies: ["COpenSSL"]),
        // Sans-I/O protocol layers: HTTP/1.1, RFC 6455, JSON-RPC 2.0.
        .target(name: "WireProtocols", dependencies: [api, "Codecs"]),
        // The daemon's machinery: config, plugin loader, registry, event loop, server.
        .target(name: "HostCore", dependencies: [api, "WireProtocols", "Codecs", "COpenSSL", "CYaml", "CLinux"]),
        .executableTarget(name: "Host", dependencies: ["HostCore", api]),
        .testTarget(name: "WireProtocolsTests", dependencies: ["WireProtocols", "Codecs", api]),
        .testTarget(name: "HostCoreTests", dependencies: ["HostCore", "WireProtocols", api]),
        .testTarget(name: "PluginCoreTests", dependencies: ["JWTAuthCore", "V4L2SourceCore", "MediaMTXBackendCore", "FFmpegCaptureCore", "FileStoreCore", api]),
        .testTarget(name: "PluginAPITests", dependencies: [api]),
    ] + pluginTargets
)
