import Foundation
import Testing
@testable import SheetSyncCore

struct CursorValueTests {
    @Test(arguments: [
        ("2024-03-10T12:00:00+02:00", "2024-03-10T11:00:00Z", true),   // 10:00Z < 11:00Z
        ("2024-03-10T11:00:00Z", "2024-03-10T12:00:00+02:00", false),
        ("2024-03-10T10:00:00.5Z", "2024-03-10T10:00:00.25Z", false),
        ("9", "10", true),                                              // numbers, not text
        ("-3", "2", true),
        ("99999999999999999999", "100000000000000000000", true),       // past 2^64, exactly
        ("1.10", "1.9", true),
        ("abc", "abd", true),
        ("b", "a", false),
    ])
    func ordersLikeUsersMeanIt(a: String, b: String, less: Bool) {
        #expect(CursorValue.isLess(a, b) == less)
    }

    @Test func maxKeepsTheOriginalText() {
        #expect(CursorValue.max("2024-03-10T12:00:00+02:00", "2024-03-10T10:30:00Z") == "2024-03-10T10:30:00Z")
        #expect(CursorValue.max(nil, "5") == "5")
        #expect(CursorValue.max("10", "9") == "10")
    }

    @Test func lookbackMovesDateTimesBackOnly() {
        #expect(CursorValue.applying(lookback: .seconds(600), to: "2024-03-10T00:05:00+01:00") == "2024-03-09T22:55:00Z")
        #expect(CursorValue.applying(lookback: .seconds(600), to: "12345") == "12345")
        #expect(CursorValue.applying(lookback: nil, to: "2024-03-10T00:05:00Z") == "2024-03-10T00:05:00Z")
        #expect(CursorValue.applying(lookback: .milliseconds(1500), to: "2024-03-10T00:00:01.25Z") == "2024-03-09T23:59:59.75Z")
    }
}

struct BackfillPlanTests {
    func iso(_ text: String) -> UTCDateTime { UTCDateTime(iso: text)! }

    @Test func daysInUTC() throws {
        let windows = try BackfillPlan.windows(from: iso("2024-02-27T00:00:00Z"), to: iso("2024-03-02T00:00:00Z"), step: .days(1))
        #expect(windows.map(\.start.description) == ["2024-02-27T00:00:00Z", "2024-02-28T00:00:00Z", "2024-02-29T00:00:00Z", "2024-03-01T00:00:00Z"])
        #expect(windows.last?.end.description == "2024-03-02T00:00:00Z")
    }

    @Test func monthsFromAMonthEndDoNotDrift() throws {
        let windows = try BackfillPlan.windows(from: iso("2024-01-31T00:00:00Z"), to: iso("2024-06-01T00:00:00Z"), step: .months(1))
        #expect(windows.map(\.start.description) == ["2024-01-31T00:00:00Z", "2024-02-29T00:00:00Z", "2024-03-31T00:00:00Z",
                                                     "2024-04-30T00:00:00Z", "2024-05-31T00:00:00Z"])
        #expect(windows.last?.end.description == "2024-06-01T00:00:00Z")
    }

    @Test func theLastWindowIsClipped() throws {
        let windows = try BackfillPlan.windows(from: iso("2024-01-01T00:00:00Z"), to: iso("2024-01-01T10:00:00Z"), step: .seconds(4 * 3600))
        #expect(windows.map { "\($0.start)-\($0.end)" } == [
            "2024-01-01T00:00:00Z-2024-01-01T04:00:00Z", "2024-01-01T04:00:00Z-2024-01-01T08:00:00Z", "2024-01-01T08:00:00Z-2024-01-01T10:00:00Z",
        ])
    }

    @Test func daysInAZoneFollowLocalMidnightsAcrossDST() throws {
        let berlin = TimeZone(identifier: "Europe/Berlin")!
        let from = try #require(BackfillPlan.parseInstant("2024-03-30", zone: berlin))
        let to = try #require(BackfillPlan.parseInstant("2024-04-01", zone: berlin))
        let windows = try BackfillPlan.windows(from: from, to: to, step: .days(1), zone: berlin)
        #expect(windows.map(\.start.description) == ["2024-03-29T23:00:00Z", "2024-03-30T23:00:00Z"])
        #expect(windows.map { $0.end.seconds - $0.start.seconds } == [86_400, 82_800])  // 31 March has 23 hours
        let autumn = try BackfillPlan.windows(from: BackfillPlan.parseInstant("2024-10-27", zone: berlin)!,
                                              to: BackfillPlan.parseInstant("2024-10-28", zone: berlin)!, step: .days(1), zone: berlin)
        #expect(autumn.map { $0.end.seconds - $0.start.seconds } == [90_000])          // 27 October has 25 hours
    }

    @Test func hoursAreElapsedTimeEvenInAZone() throws {
        let newYork = TimeZone(identifier: "America/New_York")!
        let windows = try BackfillPlan.windows(from: iso("2024-03-10T05:00:00Z"), to: iso("2024-03-10T09:00:00Z"), step: .seconds(3600), zone: newYork)
        #expect(windows.count == 4)
        #expect(windows.allSatisfy { $0.end.seconds - $0.start.seconds == 3600 })
    }

    @Test func stepsParse() throws {
        #expect(try BackfillPlan.parseStep("1d") == .days(1))
        #expect(try BackfillPlan.parseStep("2w") == .days(14))
        #expect(try BackfillPlan.parseStep("1mo") == .months(1))
        #expect(try BackfillPlan.parseStep("6h") == .seconds(21_600))
        #expect(throws: CoreError.self) { try BackfillPlan.parseStep("1y") }
        #expect(throws: CoreError.self) { try BackfillPlan.windows(from: iso("2024-01-02T00:00:00Z"), to: iso("2024-01-01T00:00:00Z"), step: .days(1)) }
    }
}
