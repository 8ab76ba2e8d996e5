/// Records what the demo shop's webhook endpoint receives, in arrival order.
public actor WebhookReceiver {
    public struct Delivery: Sendable {
        public var method: String
        public var path: String
        public var headers: [(String, String)]
        public var body: String
        /// What the receiver answered.
        public var status: Int = 200

        public func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
    }

    public private(set) var deliveries: [Delivery] = []
    /// Share of deliveries answered with 500, to exercise retries (0 by default).
    public let failureRate: Double
    /// A change (one `webhook-id`) is failed at most this many times in a row: a flaky
    /// receiver, not a broken one, so every change arrives within a push job's attempts
    /// (at 30% a change failing 10 times running would happen about once per 170,000).
    public static let maxFailuresInARow = 3
    private var random: SplitMix64
    private var failuresInARow: [String: Int] = [:]

    public init(failureRate: Double = 0, seed: UInt64 = 1) {
        self.failureRate = failureRate
        self.random = SplitMix64(seed: seed)
    }

    /// Stores a delivery and returns its 1-based number and the status to answer.
    func record(_ delivery: Delivery) -> (Int, Int) {
        var delivery = delivery
        let roll = Double(random.next() % 10_000) / 10_000
        let id = delivery.header("webhook-id") ?? delivery.path
        let fails = roll < failureRate && failuresInARow[id, default: 0] < Self.maxFailuresInARow
        failuresInARow[id] = fails ? failuresInARow[id, default: 0] + 1 : 0
        delivery.status = fails ? 500 : 200
        deliveries.append(delivery)
        return (deliveries.count, delivery.status)
    }
}
