import Foundation
import Testing
@testable import SheetSyncCore

struct CronExpressionTests {
    func utc(_ text: String) -> Date {
        let time = UTCDateTime(iso: text)!
        return Date(timeIntervalSince1970: Double(time.seconds))
    }

    func iso(_ date: Date) -> String { UTCDateTime(seconds: Int64(date.timeIntervalSince1970)).description }

    func fires(_ schedule: String, _ zone: String, from: String, to: String) throws -> [String] {
        let cron = try CronExpression(parsing: schedule)
        return cron.dates(after: utc(from), through: utc(to), in: TimeZone(identifier: zone)!).map(iso)
    }

    @Test(arguments: [
        ("*/15 * * * *", "0,15,30,45 / all hours"),
        ("0 9-17/2 * * mon-fri", "business hours"),
        ("30 4 1,15 * *", "lists"),
        ("0 0 * jan,jul sun", "names"),
        ("@hourly", "macro"),
        ("@every 90s", "every"),
    ])
    func parses(_ text: String, _ label: String) throws {
        _ = try CronExpression(parsing: text)
    }

    @Test(arguments: [
        ("* * * *", "invalid schedule '* * * *': expected 5 fields (minute hour day-of-month month day-of-week), found 4", 0),
        ("0 0 * * * *", "invalid schedule '0 0 * * * *': expected 5 fields (minute hour day-of-month month day-of-week), found 6; seconds are not supported, use '@every 30s'", 0),
        ("60 * * * *", "invalid schedule '60 * * * *': 60 is out of range 0-59 in the minute field", 0),
        ("0 24 * * *", "invalid schedule '0 24 * * *': 24 is out of range 0-23 in the hour field", 2),
        ("0 0 * foo *", "invalid schedule '0 0 * foo *': 'foo' is not a number or a name such as 'apr' in the month field", 6),
        ("0 0 * * 1-", "invalid schedule '0 0 * * 1-': a value is missing in the day of week field", 8),
        ("*/0 * * * *", "invalid schedule '*/0 * * * *': step '0' must be a positive number in the minute field", 0),
        ("0 5-2 * * *", "invalid schedule '0 5-2 * * *': range 5-2 runs backwards in the hour field", 2),
        ("@dayly", "invalid schedule '@dayly': unknown macro '@dayly', did you mean '@daily'? (macros: @yearly, @monthly, @weekly, @daily, @hourly, @every <duration>)", 0),
        ("@every soon", "invalid schedule '@every soon': invalid duration 'soon': expected a number at 'soon'; expected forms like '10s', '500ms', '5m', '1h30m'", 7),
    ])
    func rejects(_ text: String, _ message: String, _ offset: Int) {
        #expect(throws: CoreError(.invalidCron, message, offset: offset)) { try CronExpression(parsing: text) }
    }

    @Test func newYorkSpringForwardRunsTheSkippedTimeOnceAfterTheGap() throws {
        // 2024-03-10: 02:00 EST jumps to 03:00 EDT (07:00Z).
        #expect(try fires("30 2 * * *", "America/New_York", from: "2024-03-09T00:00:00Z", to: "2024-03-12T00:00:00Z")
                == ["2024-03-09T07:30:00Z", "2024-03-10T07:00:00Z", "2024-03-11T06:30:00Z"])
        // Hourly follows real time: no 02:xx that day, 01:00 EST → 03:00 EDT is one hour.
        #expect(try fires("0 * * * *", "America/New_York", from: "2024-03-10T05:30:00Z", to: "2024-03-10T08:30:00Z")
                == ["2024-03-10T06:00:00Z", "2024-03-10T07:00:00Z", "2024-03-10T08:00:00Z"])
    }

    @Test func newYorkFallBackRunsTheRepeatedTimeOnce() throws {
        // 2024-11-03: 02:00 EDT falls back to 01:00 EST (06:00Z); 01:30 happens twice.
        #expect(try fires("30 1 * * *", "America/New_York", from: "2024-11-02T12:00:00Z", to: "2024-11-04T12:00:00Z")
                == ["2024-11-03T05:30:00Z", "2024-11-04T06:30:00Z"])
        // Every 30 minutes follows real time: both 01:30s run.
        #expect(try fires("*/30 * * * *", "America/New_York", from: "2024-11-03T04:45:00Z", to: "2024-11-03T07:15:00Z")
                == ["2024-11-03T05:00:00Z", "2024-11-03T05:30:00Z", "2024-11-03T06:00:00Z", "2024-11-03T06:30:00Z", "2024-11-03T07:00:00Z"])
    }

    @Test func berlinDaysAroundBothChanges() throws {
        // 2024-03-31 02:00 CET → 03:00 CEST (01:00Z); 2024-10-27 03:00 CEST → 02:00 CET (01:00Z).
        #expect(try fires("15 2 * * *", "Europe/Berlin", from: "2024-03-30T00:00:00Z", to: "2024-04-01T12:00:00Z")
                == ["2024-03-30T01:15:00Z", "2024-03-31T01:00:00Z", "2024-04-01T00:15:00Z"])
        #expect(try fires("15 2 * * *", "Europe/Berlin", from: "2024-10-26T12:00:00Z", to: "2024-10-28T12:00:00Z")
                == ["2024-10-27T00:15:00Z", "2024-10-28T01:15:00Z"])
        #expect(try fires("0 9 * * *", "Europe/Berlin", from: "2024-03-30T00:00:00Z", to: "2024-04-01T12:00:00Z")
                == ["2024-03-30T08:00:00Z", "2024-03-31T07:00:00Z", "2024-04-01T07:00:00Z"])
    }

    @Test func lordHoweShiftsByThirtyMinutes() throws {
        // 2024-10-06 02:00 LHST (+10:30) → 02:30 LHDT (+11): 15:30Z on the 5th.
        #expect(try fires("15 2 * * *", "Australia/Lord_Howe", from: "2024-10-05T00:00:00Z", to: "2024-10-07T00:00:00Z")
                == ["2024-10-05T15:30:00Z", "2024-10-06T15:15:00Z"])
        // 2024-04-07 02:00 LHDT → 01:30 LHST (15:00Z on the 6th): 01:45 happens twice, runs once.
        #expect(try fires("45 1 * * *", "Australia/Lord_Howe", from: "2024-04-06T00:00:00Z", to: "2024-04-07T12:00:00Z")
                == ["2024-04-06T14:45:00Z"])
    }

    @Test func leapDaysAndShortMonths() throws {
        #expect(try fires("0 0 29 2 *", "UTC", from: "2023-01-01T00:00:00Z", to: "2032-12-31T00:00:00Z")
                == ["2024-02-29T00:00:00Z", "2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"])
        #expect(try fires("0 0 31 * *", "UTC", from: "2024-01-01T00:00:00Z", to: "2024-12-31T23:00:00Z")
                == ["2024-01-31", "2024-03-31", "2024-05-31", "2024-07-31", "2024-08-31", "2024-10-31", "2024-12-31"].map { $0 + "T00:00:00Z" })
        // February 30th never comes: refused when the schedule is read (issue 18), where it
        // used to parse and then never fire without a word.
        #expect { try CronExpression(parsing: "0 0 30 2 *") } throws: { error in
            (error as? CoreError)?.message == "invalid schedule '0 0 30 2 *': it never fires, no month of Feb has a day 30"
        }
        #expect(throws: CoreError.self) { try CronExpression(parsing: "0 0 31 4,6 *") }
        // With a day of week as well, either matches (cron's rule): it fires on Mondays.
        #expect(try fires("0 0 30 2 mon", "UTC", from: "2024-02-01T00:00:00Z", to: "2024-02-13T00:00:00Z")
                == ["2024-02-05T00:00:00Z", "2024-02-12T00:00:00Z"])
    }

    @Test func bothDayFieldsRestrictedMeansEither() throws {
        // The 13th, or any Friday: September 2024 has Fridays 6, 13, 20, 27 (13th is one of them) → 4 days, plus no extra.
        let september = try fires("0 12 13 * fri", "UTC", from: "2024-09-01T00:00:00Z", to: "2024-09-30T23:00:00Z")
        #expect(september == ["06", "13", "20", "27"].map { "2024-09-\($0)T12:00:00Z" })
        let october = try fires("0 12 13 * fri", "UTC", from: "2024-10-01T00:00:00Z", to: "2024-10-31T23:00:00Z")
        #expect(october == ["04", "11", "13", "18", "25"].map { "2024-10-\($0)T12:00:00Z" })
    }

    @Test func everyFollowsElapsedTimeFromItsAnchor() throws {
        let cron = try CronExpression(parsing: "@every 90s")
        let anchor = utc("2024-01-01T00:00:00Z")
        #expect(cron.nextDate(after: utc("2024-01-01T00:00:10Z"), in: .current, anchor: anchor).map(iso) == "2024-01-01T00:01:30Z")
        #expect(cron.nextDate(after: utc("2024-01-01T00:01:30Z"), in: .current, anchor: anchor).map(iso) == "2024-01-01T00:03:00Z")
    }

    @Test func aWeekOfSchedulesFiresExactlyTheExpectedInstants() throws {
        // The week of the New York spring change, three jobs.
        let from = "2024-03-07T00:00:00Z", to = "2024-03-14T00:00:00Z"
        #expect(try fires("0 2 * * *", "America/New_York", from: from, to: to)
                == ["2024-03-07T07:00:00Z", "2024-03-08T07:00:00Z", "2024-03-09T07:00:00Z", "2024-03-10T07:00:00Z",
                    "2024-03-11T06:00:00Z", "2024-03-12T06:00:00Z", "2024-03-13T06:00:00Z"])
        #expect(try fires("@weekly", "UTC", from: from, to: to) == ["2024-03-10T00:00:00Z"])
        #expect(try fires("*/30 * * * *", "America/New_York", from: from, to: to).count == 7 * 48)
    }
}
