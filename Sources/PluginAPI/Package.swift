// swift-tools-version:6.0
// PluginAPI is its own package so that SwiftPM builds ONE shared libPluginAPI.so that the
// host and every plugin link dynamically (a target inside the root package would be linked
// statically into each, and `as?` casts across dlopen would silently fail; see
// shared/reference/swift-plugins.md). Library evolution keeps old plugins working when the
// API grows additively.
import PackageDescription

let package = Package(
    name: "PluginAPI",
    products: [.library(name: "PluginAPI", type: .dynamic, targets: ["PluginAPI"])],
    targets: [
        .target(
            name: "PluginAPI",
            path: ".",
            exclude: ["Package.swift"],
            swiftSettings: [.unsafeFlags(["-enable-library-evolution"])]
        )
    ]
)
