import Foundation
import Testing
@testable import SheetSyncCore

struct ValueParsingTests {
    @Test(arguments: [
        ("10s", Duration.seconds(10)), ("500ms", .milliseconds(500)), ("5m", .seconds(300)),
        ("1h30m", .seconds(5400)), ("2d", .seconds(172_800)), ("1.5s", .milliseconds(1500)), ("30", .seconds(30)),
    ])
    func durations(text: String, expected: Duration) throws {
        #expect(try DurationText.parse(text) == expected)
    }

    @Test(arguments: ["", "ten seconds", "5x", "m5", "-3s"])
    func badDurations(text: String) {
        #expect(throws: CoreError.self) { try DurationText.parse(text) }
    }

    /// Found by fuzzing (`scripts/fuzz cron`): `@every` with a huge number trapped on
    /// an Int64 overflow instead of refusing the schedule.
    @Test(arguments: ["1e30", "99999999999999999999", "99999999999999999999d", "36601d", "36000d36000d", "1e308h"])
    func durationsBeyondAHundredYearsAreRefused(text: String) {
        #expect(throws: CoreError.self) { try DurationText.parse(text) }
        #expect(throws: CoreError.self) { try CronExpression(parsing: "@every " + text) }
    }

    @Test func theFuzzersCronInputIsRefusedNotATrap() throws {
        let input = "@every" + String(repeating: "8", count: 45) + String(repeating: "\0", count: 11) + String(repeating: "8", count: 33) + "\r\0\n\n\u{18}m"
        #expect(throws: CoreError.self) { try CronExpression(parsing: input) }
        #expect(try DurationText.parse("36500d") == .seconds(36500 * 86_400))
    }

    /// Found by fuzzing: with a step of fractional seconds, floating-point arithmetic gave
    /// a next fire time that was not after the previous one.
    @Test func everyStepsAlwaysMoveForward() throws {
        let cron = try CronExpression(parsing: "@every1m1s121.8111m")
        var previous = Date(timeIntervalSince1970: 1_710_000_000)
        for _ in 0..<1_000 {
            let next = try #require(cron.nextDate(after: previous, in: TimeZone(identifier: "UTC")!))
            #expect(next > previous)
            #expect(abs(next.timeIntervalSince(previous) - 7369.666) < 7369.667)
            previous = next
        }
    }

    @Test func durationsFormatShort() {
        #expect(DurationText.format(.seconds(10)) == "10s")
        #expect(DurationText.format(.milliseconds(250)) == "250ms")
        #expect(DurationText.format(.seconds(300)) == "5m")
        #expect(DurationText.format(.seconds(7200)) == "2h")
    }

    @Test func civilDatesRoundTrip() {
        for days in stride(from: Int64(-800_000), through: 800_000, by: 997) {
            let (y, m, d) = CivilDate.fromDays(days)
            #expect(CivilDate.days(year: y, month: m, day: d) == days)
        }
        #expect(CivilDate.fromDays(0) == (1970, 1, 1))
        #expect(CivilDate.days(year: 2000, month: 3, day: 1) == 11_017)
    }

    @Test func dateTimesCompareAsInstants() throws {
        let a = try #require(UTCDateTime(iso: "2024-03-10T12:00:00+01:00"))
        let b = try #require(UTCDateTime(iso: "2024-03-10T11:30:00Z"))
        #expect(a < b)
        #expect(UTCDateTime(iso: "2024-03-10T11:00:00Z") == a)
    }

    @Test func suggestionsFindTypos() {
        #expect(Suggestion.closest(to: "urll", in: ["url", "method", "query"]) == "url")
        #expect(Suggestion.closest(to: "hedaers", in: ["headers", "body"]) == "headers")
        #expect(Suggestion.closest(to: "zzz", in: ["url", "method"]) == nil)
    }
}
