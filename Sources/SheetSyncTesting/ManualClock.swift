import Foundation
import SheetSyncSchedule

/// A clock that moves only when a test says so.
public final class ManualClock: SchedulerClock, @unchecked Sendable {
    private let lock = NSLock()
    private var current: Date
    private var sleepers: [(deadline: Date, continuation: CheckedContinuation<Void, Never>)] = []

    public init(_ start: Date) {
        current = start
    }

    public func now() -> Date {
        lock.lock()
        defer { lock.unlock() }
        return current
    }

    public func sleep(until deadline: Date) async throws {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            lock.lock()
            if deadline <= current {
                lock.unlock()
                continuation.resume()
            } else {
                sleepers.append((deadline, continuation))
                lock.unlock()
            }
        }
        try Task.checkCancellation()
    }

    /// Moves time forward and wakes every sleeper whose deadline has come.
    public func advance(to date: Date) {
        lock.lock()
        current = max(current, date)
        let due = sleepers.filter { $0.deadline <= current }
        sleepers.removeAll { $0.deadline <= current }
        lock.unlock()
        for sleeper in due { sleeper.continuation.resume() }
    }

    /// Wakes every sleeper without moving time (so a stopping scheduler can notice).
    public func wakeSleepers() {
        lock.lock()
        let all = sleepers
        sleepers.removeAll()
        lock.unlock()
        for sleeper in all { sleeper.continuation.resume() }
    }
}
