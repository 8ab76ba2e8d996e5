import Testing
@testable import SheetSyncDemo

/// The demo receiver is flaky, not broken: the push tests rely on every change arriving
/// within a job's attempts however the dice fall.
@Suite struct WebhookReceiverTests {
    func delivery(_ id: String) -> WebhookReceiver.Delivery {
        .init(method: "POST", path: "/hooks/x", headers: [("Webhook-Id", id)], body: "{}")
    }

    @Test func aChangeFailsAtMostThreeTimesInARow() async {
        let receiver = WebhookReceiver(failureRate: 1)
        var statuses: [Int] = []
        for _ in 0..<5 { statuses.append(await receiver.record(delivery("chg_a")).1) }
        #expect(statuses == [500, 500, 500, 200, 500])
        // Another change has its own count.
        #expect(await receiver.record(delivery("chg_b")).1 == 500)
    }

    @Test func aFailureRateOfZeroFailsNothing() async {
        let receiver = WebhookReceiver(failureRate: 0)
        for _ in 0..<50 { #expect(await receiver.record(delivery("chg_a")).1 == 200) }
    }
}
