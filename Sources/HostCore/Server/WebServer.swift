import Glibc
import PluginAPI

/// The public face of the network layer: binds the port, runs the network thread, and
/// returns from ``run()`` once a graceful shutdown has finished.
package final class WebServer: Sendable {
    package let handle: LoopHandle
    /// The bound port (useful with `port: 0`).
    package let port: Int
    private let server: NetworkServerBox

    init(settings: NetworkSettings, dispatcher: RPCDispatcher, router: HTTPRouter, authorizer: HTTPAuthorizer,
         observer: any ConnectionObserver, logger: Logger) throws {
        let fd = try Sockets.listen(host: settings.host, port: settings.port)
        port = Sockets.boundPort(fd)
        handle = try LoopHandle()
        server = NetworkServerBox(try NetworkServer(settings: settings, listenFD: fd, handle: handle, dispatcher: dispatcher,
                                                    router: router, authorizer: authorizer, observer: observer, logger: logger))
    }

    /// Serves until ``LoopHandle/requestShutdown()``; then finishes in-flight requests, sends
    /// close 1001 to every WebSocket client and returns.
    package func run() async {
        let server = self.server
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            spawnThread {
                server.value.run()
                done.resume()
            }
        }
    }
}

/// Carries the network thread's state to that thread.
final class NetworkServerBox: @unchecked Sendable {  // safe: created here, then used only by the network thread (run() once)
    let value: NetworkServer
    init(_ value: NetworkServer) { self.value = value }
}
