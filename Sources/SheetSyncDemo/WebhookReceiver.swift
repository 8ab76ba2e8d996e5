/// Records what the demo shop's webhook endpoint receives, in arrival order.
public actor WebhookReceiver {
    public struct Delivery: Sendable {
        public var method: String
        public var path: String
        public var headers: [(String, String)]
        public var body: String

        public func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
    }

    public private(set) var deliveries: [Delivery] = []

    public init() {}

    /// Stores a delivery and returns its 1-based number.
    func record(_ delivery: Delivery) -> Int {
        deliveries.append(delivery)
        return deliveries.count
    }
}
