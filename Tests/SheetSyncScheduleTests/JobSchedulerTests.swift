import Foundation
import Testing
import SheetSyncCore
@testable import SheetSyncSchedule
import SheetSyncTesting

/// Records what the scheduler asked for; runs can be held open to test overlap.
actor RecordingDelegate: ScheduleDelegate {
    var runs: [(job: String, tick: Date, catchUp: Bool)] = []
    var skips: [(job: String, tick: Date)] = []
    var ticks: [String: Date] = [:]
    var hold = false
    var waiting: [CheckedContinuation<Void, Never>] = []
    var active = 0
    var maxActive = 0

    init(lastTicks: [String: Date] = [:], hold: Bool = false) {
        ticks = lastTicks
        self.hold = hold
    }

    func lastTick(of job: String) -> Date? { ticks[job] }
    func record(tick: Date, of job: String) { ticks[job] = tick }
    func skipped(job: String, tick: Date) { skips.append((job, tick)) }

    func run(job: String, tick: Date, catchUp: Bool) async {
        runs.append((job, tick, catchUp))
        active += 1
        maxActive = max(maxActive, active)
        if hold { await withCheckedContinuation { waiting.append($0) } }
        active -= 1
    }

    func release() {
        hold = false
        for continuation in waiting { continuation.resume() }
        waiting.removeAll()
    }
}

func eventually(_ condition: @escaping () async -> Bool) async -> Bool {
    for _ in 0..<200 {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return false
}

struct JobSchedulerTests {
    let start = Date(timeIntervalSince1970: 1_704_067_200)  // 2024-01-01T00:00:00Z
    let utc = TimeZone(identifier: "UTC")!

    func entry(_ job: String, _ schedule: String, overlap: OverlapPolicy = .skip, missed: MissedPolicy = .once) throws -> ScheduleEntry {
        ScheduleEntry(job: job, cron: try CronExpression(parsing: schedule), zone: utc, overlap: overlap, missed: missed)
    }

    @Test(arguments: [(MissedPolicy.skip, 0), (.once, 1), (.all, 10)])
    func missedTicksAfterATenHourOutage(policy: MissedPolicy, expected: Int) async throws {
        // The daemon last ran the hourly job at 00:00 and comes back at 10:05.
        let clock = ManualClock(start.addingTimeInterval(10 * 3600 + 300))
        let delegate = RecordingDelegate(lastTicks: ["hourly": start])
        let scheduler = JobScheduler(clock: clock, delegate: delegate)
        await scheduler.update([try entry("hourly", "@hourly", missed: policy)])
        let loop = Task { await scheduler.run() }
        #expect(await eventually { await delegate.runs.count == expected } || expected == 0)
        try await Task.sleep(for: .milliseconds(50))
        let runs = await delegate.runs
        #expect(runs.count == expected)
        #expect(runs.allSatisfy { $0.catchUp })
        if policy == .all { #expect(runs.map(\.tick) == (1...10).map { start.addingTimeInterval(Double($0) * 3600) }) }
        // Whatever the policy, the stored tick is the latest missed one: a restart does not catch up again.
        #expect(await delegate.ticks["hourly"] == start.addingTimeInterval(10 * 3600))
        await scheduler.stop(grace: .seconds(1))
        await loop.value
    }

    @Test func firesEachTickOfEachJob() async throws {
        let clock = ManualClock(start)
        let delegate = RecordingDelegate()
        let scheduler = JobScheduler(clock: clock, delegate: delegate)
        await scheduler.update([try entry("half-hourly", "*/30 * * * *"), try entry("daily", "0 2 * * *")])
        let loop = Task { await scheduler.run() }
        for minute in stride(from: 5, through: 180, by: 5) {
            clock.advance(to: start.addingTimeInterval(Double(minute * 60)))
            try await Task.sleep(for: .milliseconds(3))
            // At each tick, let the scheduler see it before moving on: on a loaded machine
            // the clock could otherwise pass two ticks at once, which is a missed tick.
            if minute % 30 == 0 {
                let due = minute / 30 + (minute >= 120 ? 1 : 0)
                #expect(await eventually { await delegate.runs.count == due }, "tick at minute \(minute) did not fire")
            }
        }
        #expect(await eventually { await delegate.runs.count == 7 })
        let runs = await delegate.runs
        #expect(runs.filter { $0.job == "half-hourly" }.map(\.tick) == (1...6).map { start.addingTimeInterval(Double($0) * 1800) })
        #expect(runs.filter { $0.job == "daily" }.map(\.tick) == [start.addingTimeInterval(7200)])
        await scheduler.stop(grace: .seconds(1))
        await loop.value
    }

    @Test(arguments: [OverlapPolicy.skip, .queue, .allow])
    func overlapPolicies(_ policy: OverlapPolicy) async throws {
        let clock = ManualClock(start)
        let delegate = RecordingDelegate(hold: true)
        let scheduler = JobScheduler(clock: clock, delegate: delegate)
        await scheduler.update([try entry("slow", "* * * * *", overlap: policy)])
        let loop = Task { await scheduler.run() }
        for minute in 1...3 {
            clock.advance(to: start.addingTimeInterval(Double(minute * 60)))
            #expect(await eventually { await delegate.ticks["slow"] == start.addingTimeInterval(Double(minute * 60)) })
            try await Task.sleep(for: .milliseconds(10))
        }
        switch policy {
        case .skip:
            #expect(await delegate.runs.count == 1)
            #expect(await delegate.skips.count == 2)
        case .queue:
            #expect(await delegate.runs.count == 1)
            await delegate.release()
            #expect(await eventually { await delegate.runs.count == 2 })
            try await Task.sleep(for: .milliseconds(30))
            #expect(await delegate.runs.count == 2, "two waiting ticks queue one run, not two")
        case .allow:
            #expect(await eventually { await delegate.runs.count == 3 })
            #expect(await delegate.maxActive == 3)
        }
        await delegate.release()
        await scheduler.stop(grace: .seconds(1))
        await loop.value
    }
}

extension JobSchedulerTests {
    /// A week with the New York spring change, through the scheduler and a moved clock.
    @Test func aWeekOfTicksAcrossDaylightSaving() async throws {
        let newYork = TimeZone(identifier: "America/New_York")!
        let weekStart = Date(timeIntervalSince1970: 1_709_769_600)  // 2024-03-07T00:00:00Z
        let clock = ManualClock(weekStart)
        let delegate = RecordingDelegate()
        let scheduler = JobScheduler(clock: clock, delegate: delegate)
        await scheduler.update([
            ScheduleEntry(job: "nightly", cron: try CronExpression(parsing: "0 2 * * *"), zone: newYork),
            ScheduleEntry(job: "weekly", cron: try CronExpression(parsing: "@weekly"), zone: utc),
        ])
        let loop = Task { await scheduler.run() }
        for step in 1...(7 * 24 * 4) {
            clock.advance(to: weekStart.addingTimeInterval(Double(step) * 900))
            await Task.yield()
            if step % 4 == 0 { try await Task.sleep(for: .milliseconds(1)) }
        }
        #expect(await eventually { await delegate.runs.count == 8 })
        let iso = { (date: Date) in UTCDateTime(seconds: Int64(date.timeIntervalSince1970)).description }
        let runs = await delegate.runs
        #expect(runs.filter { $0.job == "nightly" }.map { iso($0.tick) } == [
            "2024-03-07T07:00:00Z", "2024-03-08T07:00:00Z", "2024-03-09T07:00:00Z",
            "2024-03-10T07:00:00Z",  // 02:00 does not exist that night: runs right after the gap (03:00 EDT)
            "2024-03-11T06:00:00Z", "2024-03-12T06:00:00Z", "2024-03-13T06:00:00Z",
        ])
        #expect(runs.filter { $0.job == "weekly" }.map { iso($0.tick) } == ["2024-03-10T00:00:00Z"])
        await scheduler.stop(grace: .seconds(1))
        await loop.value
    }
}
