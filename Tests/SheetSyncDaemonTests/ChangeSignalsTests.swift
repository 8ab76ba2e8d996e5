import Foundation
import Testing
import SheetSyncDaemon

/// What wakes a push loop that waits for changes, as `sheetsync_push_wakeups_total{cause}`
/// counts it: a change of its worksheet, the listening starting or stopping (it counted as a
/// change), or the time running out.
struct ChangeSignalsTests {
    @Test func eachWakeSaysWhatEndedTheWait() async throws {
        let signals = ChangeSignals()

        // A change of another worksheet does not end the wait; the time does.
        let seen = await signals.generation(of: "orders")
        async let timed = signals.wait(for: "orders", after: seen, timeout: .milliseconds(300))
        try await Task.sleep(for: .milliseconds(50))
        await signals.notify("customers")
        #expect(await timed == .timer)

        // A change of the worksheet ends it.
        async let changed = signals.wait(for: "orders", after: seen, timeout: .seconds(30))
        try await Task.sleep(for: .milliseconds(50))
        await signals.notify("orders")
        #expect(await changed == .change)

        // A change made before the wait began (during the pass) ends it at once.
        #expect(await signals.wait(for: "orders", after: seen, timeout: .seconds(30)) == .change)

        // The listening starting (or stopping) ends every wait, and says so.
        let now = await signals.generation(of: "orders")
        async let toggled = signals.wait(for: "orders", after: now, timeout: .seconds(30))
        try await Task.sleep(for: .milliseconds(50))
        await signals.setListening(true)
        #expect(await toggled == .listening)
        #expect(await signals.isListening)
    }
}
