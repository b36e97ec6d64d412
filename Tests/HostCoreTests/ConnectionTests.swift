@testable import HostCore
import PluginAPI
import Testing

@Suite struct ConnectionLifecycleTests {
    @Test func keepAliveHTTPAndClose() {
        var l = ConnectionLifecycle(requestDeadline: 10)
        #expect(l.acceptsWork && !l.isWebSocket)
        #expect(l.timer(now: 9) == .none)
        l.responseStarted()
        #expect(l.isResponding && l.timer(now: 1000) == .none)  // a handler may take its time
        l.responseQueued(keepAlive: true, idleDeadline: 50, now: 20)
        #expect(l.state == .http(deadline: 50))
        #expect(l.flushed() == .none)
        l.responseQueued(keepAlive: false, idleDeadline: 0, now: 30)
        #expect(l.isDraining && !l.acceptsWork)
        #expect(l.flushed() == .close(abort: false) && l.state == .closed)
    }

    @Test func requestTimeout() {
        var l = ConnectionLifecycle(requestDeadline: 10)
        #expect(l.timer(now: 10) == .close(abort: false))
        #expect(l.peerGone() == .none)  // already closed: nothing twice
    }

    @Test func websocketCloses() {
        var l = ConnectionLifecycle(requestDeadline: 10)
        l.upgraded()
        #expect(l.isWebSocket && l.acceptsWork && l.timer(now: 1e9) == .none)
        // Server-initiated close: wait for the peer, then give up.
        l.closeInitiated(now: 100, wait: 1)
        #expect(!l.acceptsWork && l.isWebSocket)
        #expect(l.timer(now: 100.5) == .none && l.timer(now: 101) == .close(abort: false))
        // The peer's close answered: drain, then close first (RFC 6455 §7.1.1).
        var m = ConnectionLifecycle(requestDeadline: 10)
        m.upgraded()
        m.closeFrameQueued(now: 5)
        #expect(m.flushed() == .close(abort: false))
    }

    @Test func slowReaderIsCutOrReset() {
        // A WebSocket cut at a frame boundary has its 1008 queued: it is not closed once the
        // queue is written (closing on unread input resets, losing the close frame), but when
        // the peer answers the close, or at the deadline.
        var l = ConnectionLifecycle(requestDeadline: 10)
        l.upgraded()
        l.outboundOverflowed(now: 1, abort: false)
        #expect(l.state == .closeSent(deadline: 1 + ConnectionLifecycle.drainTime) && !l.acceptsWork)
        #expect(l.flushed() == .none && l.timer(now: 1 + ConnectionLifecycle.drainTime / 2) == .none)
        #expect(l.timer(now: 1 + ConnectionLifecycle.drainTime) == .close(abort: false))
        var answered = ConnectionLifecycle(requestDeadline: 10)
        answered.upgraded()
        answered.outboundOverflowed(now: 1, abort: false)
        answered.closeFrameQueued(now: 1.5)  // the peer's close: drain, then close first
        #expect(answered.flushed() == .close(abort: false))
        // An HTTP queue cannot carry a close frame: drained, then closed.
        var http = ConnectionLifecycle(requestDeadline: 10)
        http.outboundOverflowed(now: 1, abort: false)
        #expect(http.state == .draining(deadline: 1 + ConnectionLifecycle.drainTime, abort: false))
        var h = ConnectionLifecycle(requestDeadline: 10)
        h.outboundOverflowed(now: 1, abort: true)
        #expect(h.timer(now: 100) == .close(abort: true))
    }

    @Test func refusalIsReadableThenClosed() {
        var l = ConnectionLifecycle(refusedAt: 0)
        #expect(l.isRefusing && !l.acceptsWork)
        #expect(l.flushed() == .shutdownWrite)  // the 503 is out: FIN, keep reading
        #expect(l.flushed() == .none)
        #expect(l.timer(now: 0.5) == .none)
        #expect(l.timer(now: ConnectionLifecycle.refusalTime) == .close(abort: false))
        var m = ConnectionLifecycle(refusedAt: 0)
        #expect(m.peerGone() == .close(abort: false))
    }

    @Test func shutdownClosesOnlyIdleHTTP() {
        var l = ConnectionLifecycle(requestDeadline: 10)
        #expect(l.shutdownIdleHTTP() == .close(abort: false))
        var w = ConnectionLifecycle(requestDeadline: 10)
        w.upgraded()
        #expect(w.shutdownIdleHTTP() == .none)
    }
}

@Suite struct AdmissionTests {
    func ref(_ id: UInt64) -> ConnectionRef { ConnectionRef(fd: Int32(id), id: id) }

    @Test func perAddressCapLeavesOthersAlone() {
        var a = AdmissionControl(.init(maxConnections: 100, perAddress: 2, unauthenticated: 50))
        for i in 1...2 {
            #expect(a.decide(address: "10.0.0.1") == .admit)
            a.admitted(ref(UInt64(i)), address: "10.0.0.1")
        }
        #expect(a.decide(address: "10.0.0.1") == .refuse(.perAddress))
        #expect(a.decide(address: "10.0.0.2") == .admit)
        a.closed(1, address: "10.0.0.1")
        #expect(a.decide(address: "10.0.0.1") == .admit)
    }

    @Test func unauthenticatedBudgetEvictsTheOldestStranger() {
        var a = AdmissionControl(.init(maxConnections: 4, perAddress: 100, unauthenticated: 2))
        a.admitted(ref(1), address: "a")
        a.admitted(ref(2), address: "b")
        a.authenticated(1)
        a.admitted(ref(3), address: "c")
        // Strangers: 2 and 3 (1 authenticated). Full: the oldest stranger makes room.
        #expect(a.decide(address: "d") == .admitEvicting(ref(2)))
        a.closed(2, address: "b")
        a.admitted(ref(4), address: "d")
        #expect(a.decide(address: "e") == .admitEvicting(ref(3)))
        // Authenticated sessions fill the rest; at the total cap with room for strangers: 503.
        var b = AdmissionControl(.init(maxConnections: 2, perAddress: 100, unauthenticated: 1))
        b.admitted(ref(1), address: "a")
        b.authenticated(1)
        b.admitted(ref(2), address: "b")
        b.authenticated(2)
        #expect(b.decide(address: "c") == .refuse(.maxConnections))
        #expect(b.unauthenticatedCount == 0 && b.total == 2)
    }

    @Test func aCrowdFromFewAddressesEvictsItsOwnFirst() {
        var a = AdmissionControl(.init(maxConnections: 100, perAddress: 100, unauthenticated: 4))
        a.admitted(ref(1), address: "client")  // the oldest stranger, about to authenticate
        a.admitted(ref(2), address: "crowd")
        a.admitted(ref(3), address: "other")
        a.admitted(ref(4), address: "crowd")
        // Full: the oldest of the address holding the most goes, not the oldest overall.
        #expect(a.decide(address: "crowd") == .admitEvicting(ref(2)))
        a.closed(2, address: "crowd")
        a.admitted(ref(5), address: "crowd")
        #expect(a.decide(address: "new") == .admitEvicting(ref(4)))
        a.closed(4, address: "crowd")
        a.admitted(ref(6), address: "new")
        // One each: the oldest of all goes; authenticated connections are never candidates.
        #expect(a.decide(address: "new2") == .admitEvicting(ref(1)))
        a.authenticated(1)
        #expect(a.decide(address: "new2") == .admit)
        a.admitted(ref(7), address: "new2")
        #expect(a.decide(address: "new3") == .admitEvicting(ref(3)))
        #expect(a.unauthenticatedCount == 4 && a.total == 5)
    }

    @Test func orderListStaysBounded() {
        var a = AdmissionControl(.init(maxConnections: 1_000_000, perAddress: 1_000_000, unauthenticated: 10))
        for i in 1...20_000 {
            a.admitted(ref(UInt64(i)), address: "x")
            a.authenticated(UInt64(i))
        }
        #expect(a.unauthenticatedCount == 0)
        #expect(a.decide(address: "x") == .admit)
    }

    @Test(arguments: [("192.168.1.7", "192.168.1.7"), ("2001:db8:1:2:3:4:5:6", "2001:0db8:0001:0002::/64"),
                      ("2001:db8:1:2:ffff::1", "2001:0db8:0001:0002::/64"), ("::ffff:10.1.2.3", "10.1.2.3"), ("::1", "0000:0000:0000:0000::/64")])
    func addressKeys(host: String, key: String) {
        #expect(AdmissionControl.addressKey(host) == key)
    }
}
