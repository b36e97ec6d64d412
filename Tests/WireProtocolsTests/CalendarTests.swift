import Codecs
import Testing

@Suite struct CalendarTests {
    @Test func utcFromCalendarFields() {
        #expect(Timestamp.utc(year: 1970, month: 1, day: 1, hour: 0, minute: 0, second: 0) == 0)
        #expect(Timestamp.utc(year: 2024, month: 2, day: 29, hour: 23, minute: 59, second: 59) == 1_709_251_199)
        #expect(Timestamp.utc(year: 2026, month: 12, day: 31, hour: 23, minute: 59, second: 60) == 1_798_761_600)  // a leap second
    }

    @Test(arguments: [(2026, 2, 29), (2100, 2, 29), (2026, 4, 31), (2026, 13, 1), (2026, 0, 1), (2026, 1, 0), (0, 1, 1)])
    func datesThatDoNotExistAreNil(date: (Int, Int, Int)) {
        #expect(Timestamp.utc(year: date.0, month: date.1, day: date.2, hour: 0, minute: 0, second: 0) == nil)
    }

    @Test func timesThatDoNotExistAreNil() {
        #expect(Timestamp.utc(year: 2026, month: 1, day: 1, hour: 24, minute: 0, second: 0) == nil)
        #expect(Timestamp.utc(year: 2026, month: 1, day: 1, hour: 0, minute: 60, second: 0) == nil)
        #expect(Timestamp.utc(year: 2026, month: 1, day: 1, hour: 0, minute: 0, second: 61) == nil)
    }

    @Test func httpDates() {
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 08:49:37 GMT") == 784_111_777)
        #expect(HTTPDate.format(784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDate.parse("Sat, 31 Feb 2026 00:00:00 GMT") == nil)  // no such day: the header is ignored
        #expect(HTTPDate.parse("Sunday, 06-Nov-94 08:49:37 GMT") == nil)
    }
}
