@testable import HostCore
import Testing

/// `within`: figures a reply adds when it can, never waiting past its deadline.
@Suite struct DeadlineTests {
    struct Refused: Error {}

    @Test func aQuickAnswerIsTaken() async {
        #expect(await within(1) { 42 } == 42)
    }

    @Test func aFailureIsNoFigure() async {
        let none: Int? = await within(1) { throw Refused() }
        #expect(none == nil)
    }

    @Test func aHangingCallIsLeftBehindAtTheDeadline() async {
        let started = ContinuousClock.now
        let none: Int? = await within(0.2) {
            try? await Task.sleep(for: .seconds(5))  // a dependency that does not answer
            return 1
        }
        let waited = ContinuousClock.now - started
        #expect(none == nil)
        #expect(waited >= .milliseconds(200) && waited < .seconds(2))
    }
}
