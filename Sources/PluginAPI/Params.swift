extension JSONObject {
    /// The string parameter `name`, or nil when absent (the host has checked its type).
    public func string(_ name: String) -> String? { self[name]?.stringValue }
    /// The integer parameter `name`, or nil when absent.
    public func int(_ name: String) -> Int? { self[name]?.intValue }
    /// The number parameter `name`, or nil when absent.
    public func double(_ name: String) -> Double? { self[name]?.doubleValue }
    /// The boolean parameter `name`, or nil when absent.
    public func bool(_ name: String) -> Bool? { self[name]?.boolValue }

    /// The string parameter `name`, or `-32602` naming it when missing.
    public func requireString(_ name: String) throws(RPCError) -> String {
        guard let s = self[name]?.stringValue else {
            throw RPCError.invalidParams(param: name, rule: "required", detail: "'\(name)' must be a string")
        }
        return s
    }
}
