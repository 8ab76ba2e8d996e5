import Foundation

/// Wakes push loops when a change to their worksheet is captured, where the database says
/// so (PostgreSQL's `LISTEN`, `ListenService`): a loop then waits for a change, its next
/// retry or 30 s, instead of polling every second.
///
/// Each worksheet has a generation, bumped by every notification; a loop notes it before
/// its pass and waits only while it is unchanged, so a change captured during the pass
/// starts the next pass at once.
public actor ChangeSignals {
    /// Whether notifications arrive (LISTEN is connected); when false, loops poll.
    public private(set) var isListening = false
    private var generations: [String: Int] = [:]
    private var waiters: [UUID: (worksheet: String, continuation: CheckedContinuation<Wake, Never>)] = [:]

    /// What ended a wait (`sheetsync_push_wakeups_total{cause}`).
    public enum Wake: String, Sendable {
        /// A change of the worksheet was captured.
        case change
        /// Listening started or stopped.
        case listening
        /// The time ran out (a retry is due, or the quiet fallback).
        case timer
    }

    public init() {}

    public func generation(of worksheet: String) -> Int { generations[worksheet, default: 0] }

    /// A change of `worksheet` was captured (committed).
    public func notify(_ worksheet: String) {
        generations[worksheet, default: 0] += 1
        for (id, waiter) in waiters where waiter.worksheet == worksheet {
            waiters.removeValue(forKey: id)?.continuation.resume(returning: .change)
        }
    }

    /// Listening started or stopped: every waiter wakes (to poll, or to catch up on what
    /// changed before the notifications began).
    public func setListening(_ listening: Bool) {
        isListening = listening
        for id in Array(waiters.keys) { waiters.removeValue(forKey: id)?.continuation.resume(returning: .listening) }
    }

    /// Waits until `worksheet` changes after generation `seen`, or `timeout` passes, or the
    /// task is cancelled (then `.timer`).
    public func wait(for worksheet: String, after seen: Int, timeout: Duration) async -> Wake {
        guard generations[worksheet, default: 0] == seen else { return .change }
        let id = UUID()
        let timer = Task { [weak self] in
            try? await Task.sleep(for: timeout)
            await self?.end(id)
        }
        defer { timer.cancel() }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                if Task.isCancelled { return continuation.resume(returning: .timer) }
                waiters[id] = (worksheet, continuation)
            }
        } onCancel: {
            Task { await self.end(id) }
        }
    }

    private func end(_ id: UUID) {
        waiters.removeValue(forKey: id)?.continuation.resume(returning: .timer)
    }
}
