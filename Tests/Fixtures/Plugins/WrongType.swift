// Passes the version check but hands back an object that is not a Plugin.
import PluginAPI

@_cdecl("swiftplugin_api_version") public func apiVersion() -> UInt32 { pluginAPIVersion }
@_cdecl("swiftplugin_create") public func create() -> UnsafeMutableRawPointer {
    Unmanaged<AnyObject>.passRetained(NotAPlugin()).toOpaque()
}

final class NotAPlugin {}
