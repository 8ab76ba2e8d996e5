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
    private var waiters: [UUID: (worksheet: String, continuation: CheckedContinuation<Bool, Never>)] = [:]

    public init() {}

    public func generation(of worksheet: String) -> Int { generations[worksheet, default: 0] }

    /// A change of `worksheet` was captured (committed).
    public func notify(_ worksheet: String) {
        generations[worksheet, default: 0] += 1
        for (id, waiter) in waiters where waiter.worksheet == worksheet {
            waiters.removeValue(forKey: id)?.continuation.resume(returning: true)
        }
    }

    /// Listening started or stopped: every waiter wakes (to poll, or to catch up on what
    /// changed before the notifications began).
    public func setListening(_ listening: Bool) {
        isListening = listening
        for id in Array(waiters.keys) { waiters.removeValue(forKey: id)?.continuation.resume(returning: true) }
    }

    /// Waits until `worksheet` changes after generation `seen`, or `timeout` passes, or the
    /// task is cancelled. Returns true when a change (not the time) ended the wait.
    public func wait(for worksheet: String, after seen: Int, timeout: Duration) async -> Bool {
        guard generations[worksheet, default: 0] == seen else { return true }
        let id = UUID()
        let timer = Task { [weak self] in
            try? await Task.sleep(for: timeout)
            await self?.end(id)
        }
        defer { timer.cancel() }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                if Task.isCancelled { return continuation.resume(returning: false) }
                waiters[id] = (worksheet, continuation)
            }
        } onCancel: {
            Task { await self.end(id) }
        }
    }

    private func end(_ id: UUID) {
        waiters.removeValue(forKey: id)?.continuation.resume(returning: false)
    }
}
