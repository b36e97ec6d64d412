import Glibc
import PluginAPI
import Synchronization

/// systemd's watchdog, fed only while the network thread answers: each round posts a
/// heartbeat to the loop and, an interval later, pings systemd if the loop ran it. A stuck
/// loop therefore stops the pings and systemd restarts the daemon (`Restart=on-failure`).
final class Watchdog: Sendable {
    private let stopped = Atomic<Bool>(false)
    private let answered = Atomic<Bool>(true)

    init(notify: SystemdNotify, interval: Double, loop: LoopHandle, logger: Logger) {
        spawnThread { [self] in
            var missed = 0
            while !stopped.load(ordering: .acquiring) {
                if answered.exchange(false, ordering: .acquiringAndReleasing) {
                    if missed > 0 { logger.notice("network thread answering again after \(missed) missed watchdog round(s)") }
                    missed = 0
                    notify.send("WATCHDOG=1")
                } else {
                    missed += 1
                    logger.error("network thread did not answer within \(interval)s; withholding the watchdog ping")
                }
                loop.heartbeat { [self] in answered.store(true, ordering: .releasing) }
                var remaining = timespec(tv_sec: Int(interval), tv_nsec: Int((interval - interval.rounded(.down)) * 1e9))
                var left = timespec()
                while nanosleep(&remaining, &left) != 0 && errno == EINTR { remaining = left }
            }
        }
    }

    func stop() { stopped.store(true, ordering: .releasing) }
}
