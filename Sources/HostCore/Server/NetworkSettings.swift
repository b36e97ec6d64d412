import PluginAPI

/// Settings the network thread needs (from `server.*` and `security.*`).
package struct NetworkSettings: Sendable {
    package var host: String
    package var port: Int
    package var websocketPath: String
    package var maxConnections: Int
    /// Per client address (IPv4 address, IPv6 /64).
    package var maxConnectionsPerAddress: Int
    /// Connections without an identity may use at most this many of `maxConnections`.
    package var unauthenticatedBudget: Int
    package var maxMessageBytes: Int
    /// The largest message before `authenticate` succeeds.
    package var unauthenticatedMaxMessageBytes: Int
    /// A WebSocket that has not authenticated by then is closed with 1008.
    package var authTimeout: Double
    package var maxOutboundBytes: Int
    package var pingInterval: Double
    package var pingTimeout: Double
    package var requestTimeout: Double
    package var idleTimeout: Double
    package var shutdownTimeout: Double
    package var allowedOrigins: [String]
    package var tlsCertFile: String?
    package var tlsKeyFile: String?

    package init(_ c: ServiceConfig) {
        host = c.server.host
        port = c.server.port
        websocketPath = c.server.websocketPath
        maxConnections = c.server.maxConnections
        maxConnectionsPerAddress = c.server.maxConnectionsPerIP
        unauthenticatedBudget = max(1, Int((Double(c.server.maxConnections) * c.security.unauthenticatedConnectionShare).rounded(.down)))
        maxMessageBytes = c.server.maxMessageBytes
        unauthenticatedMaxMessageBytes = min(c.security.unauthenticatedMaxMessageBytes, c.server.maxMessageBytes)
        authTimeout = c.security.authTimeout
        maxOutboundBytes = c.server.maxOutboundBytes
        pingInterval = c.server.pingInterval
        pingTimeout = c.server.pingTimeout
        requestTimeout = c.server.requestTimeout
        idleTimeout = c.server.idleTimeout
        shutdownTimeout = c.server.shutdownTimeout
        allowedOrigins = c.security.allowedOrigins
        tlsCertFile = c.server.tlsCertFile.map { FileIO.resolve($0, against: c.sourceFile.map(FileIO.dirname) ?? ".") }
        tlsKeyFile = c.server.tlsKeyFile.map { FileIO.resolve($0, against: c.sourceFile.map(FileIO.dirname) ?? ".") }
    }
}

/// Tells the rest of the host about connections coming and going (sessions, events, metrics).
package protocol ConnectionObserver: Sendable {
    func opened(_ ref: ConnectionRef, remoteHost: String)
    /// Now a WebSocket; `requestHost` is the host name the client used (Host header, no port).
    func upgraded(_ ref: ConnectionRef, requestHost: String?)
    func closed(_ ref: ConnectionRef)
    /// A connection was refused or cut for `reason` (`max_connections`, `max_connections_per_ip`,
    /// `unauthenticated_budget`, `auth_timeout`, `slow_consumer`, `fd_limit`, `shutting_down`).
    func rejected(reason: String)
    /// A notification could not be queued (connection closing or gone).
    func notificationDropped()
}
