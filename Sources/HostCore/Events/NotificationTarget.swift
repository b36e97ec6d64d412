/// Where the event bus hands a notification for one connection: the network thread's job
/// queue (``LoopHandle``) in the daemon. `deliver` runs under the bus's lock, so it only hands
/// the bytes on (a post), never blocks and never calls back into the bus.
protocol NotificationTarget: Sendable {
    func deliver(_ notification: [UInt8], to ref: ConnectionRef)
}

extension LoopHandle: NotificationTarget {
    func deliver(_ notification: [UInt8], to ref: ConnectionRef) { post(.notify(ref, notification)) }
}
