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
    private var random: SplitMix64

    public init(failureRate: Double = 0, seed: UInt64 = 1) {
        self.failureRate = failureRate
        self.random = SplitMix64(seed: seed)
    }

    /// Stores a delivery and returns its 1-based number and the status to answer.
    func record(_ delivery: Delivery) -> (Int, Int) {
        var delivery = delivery
        let roll = Double(random.next() % 10_000) / 10_000
        delivery.status = roll < failureRate ? 500 : 200
        deliveries.append(delivery)
        return (deliveries.count, delivery.status)
    }
}
