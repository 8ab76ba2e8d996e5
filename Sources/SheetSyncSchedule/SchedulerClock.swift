import Foundation

/// Time as the scheduler sees it: injected, so tests can move it by hand.
public protocol SchedulerClock: Sendable {
    func now() -> Date
    /// Sleeps until `deadline` or until the task is cancelled.
    func sleep(until deadline: Date) async throws
    /// Wakes every sleeper early, so a stopping scheduler notices at once.
    func wakeSleepers()
}

extension SchedulerClock {
    /// The real clock's sleeps last a second at most, so nothing needs waking.
    public func wakeSleepers() {}
}

/// The real clock.
public struct WallClock: SchedulerClock {
    public init() {}

    public func now() -> Date { Date() }

    public func sleep(until deadline: Date) async throws {
        let seconds = deadline.timeIntervalSinceNow
        if seconds > 0 { try await Task.sleep(for: .milliseconds(Int64(seconds * 1000))) }
    }
}
