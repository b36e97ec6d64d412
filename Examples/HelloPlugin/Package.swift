// swift-tools-version:6.0
// An out-of-tree camera-service plugin: its own package, built on its own, depending on the
// PluginAPI package by path. Build: swift build -c release --package-path Examples/HelloPlugin
// then point a plugins.yaml entry's `library` at the absolute path of libAcmeHello.so.
import PackageDescription

let package = Package(
    name: "AcmeHello",
    products: [.library(name: "AcmeHello", type: .dynamic, targets: ["AcmeHello"])],
    dependencies: [.package(path: "../../Sources/PluginAPI")],
    targets: [
        .target(name: "AcmeHello", dependencies: [.product(name: "PluginAPI", package: "PluginAPI")]),
    ]
)
