/// The version of the plugin API a plugin was compiled against, as `major << 16 | minor`.
///
/// `@_alwaysEmitIntoClient` compiles the literal into the plugin itself, so the host reads the
/// version the plugin was *built* with, not the one of the loaded `libPluginAPI.so`.
/// The host accepts a plugin with the same major and a minor not above its own.
@_alwaysEmitIntoClient
public var pluginAPIVersion: UInt32 { (1 << 16) | 0 }

/// Splits an encoded API version into its major and minor parts.
@inlinable
public func pluginAPIVersionParts(_ encoded: UInt32) -> (major: UInt32, minor: UInt32) {
    (encoded >> 16, encoded & 0xFFFF)
}

/// The C symbol every plugin exports returning `pluginAPIVersion` (see ``exportPlugin(_:)``).
public let pluginVersionSymbol = "swiftplugin_api_version"
/// The C symbol every plugin exports returning its ``Plugin`` object (see ``exportPlugin(_:)``).
public let pluginCreateSymbol = "swiftplugin_create"

/// Hands a plugin object to the host across the C boundary (+1 retained).
///
/// Every plugin declares exactly these two entry points:
/// ```swift
/// @_cdecl("swiftplugin_api_version") public func apiVersion() -> UInt32 { pluginAPIVersion }
/// @_cdecl("swiftplugin_create") public func create() -> UnsafeMutableRawPointer { exportPlugin(MyPlugin()) }
/// ```
public func exportPlugin(_ plugin: any Plugin) -> UnsafeMutableRawPointer {
    Unmanaged<AnyObject>.passRetained(plugin as AnyObject).toOpaque()
}
