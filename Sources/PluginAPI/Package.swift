// swift-tools-version:6.0
// PluginAPI is its own package so that SwiftPM builds ONE shared libPluginAPI.so that the
// host and every plugin link dynamically (a target inside the root package would be linked
// statically into each, and `as?` casts across dlopen would silently fail; see
// docs/plugins.md). Library evolution keeps old plugins working when the API grows additively.
import PackageDescription

let package = Package(
    name: "PluginAPI",
    products: [.library(name: "PluginAPI", type: .dynamic, targets: ["PluginAPI"])],
    targets: [
        // Header-only C (fork/exec for supervised children): compiled into libPluginAPI.so,
        // imported `internal`, so no client ever needs it.
        .systemLibrary(name: "CPluginSupport", path: "CSupport"),
        .target(
            name: "PluginAPI",
            dependencies: ["CPluginSupport"],
            path: ".",
            exclude: ["Package.swift", "CSupport", "abi"],
            swiftSettings: [.unsafeFlags(["-enable-library-evolution"])]
        ),
    ]
)
