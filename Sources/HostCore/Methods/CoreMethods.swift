/// Every method the host itself registers.
enum CoreMethods {
    static func register(_ r: OwnedRegistry, _ h: HostServices) throws {
        try SystemMethods.register(r, h)
        try CameraMethods.register(r, h)
        try ObservabilityMethods.register(r, h)
        try PendingMethods.register(r)
    }
}
