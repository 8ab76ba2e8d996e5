/// A push job: worksheet changes → a third-party endpoint, at least once.
public struct PushJob: Sendable, Hashable {
    /// The kinds of change a push job reacts to.
    public enum Operation: String, Sendable, Hashable, CaseIterable {
        case insert, update, delete
    }

    /// SQL condition on the record (`status = 'approved'`); `nil` sends every change.
    public var when: String?
    public var on: [Operation]
    /// Fields whose change counts; `nil` means all user fields.
    public var fields: [String]?
    public var request: HTTPRequestSpec
    public var delivery: DeliverySpec
    /// Response values written back into the record after a successful delivery.
    public var writeBack: [FieldMapping]

    public init(when: String? = nil, on: [Operation] = [.insert, .update], fields: [String]? = nil,
                request: HTTPRequestSpec, delivery: DeliverySpec = DeliverySpec(), writeBack: [FieldMapping] = []) {
        self.when = when
        self.on = on
        self.fields = fields
        self.request = request
        self.delivery = delivery
        self.writeBack = writeBack
    }
}

/// How hard a push job tries to deliver each change.
public struct DeliverySpec: Sendable, Hashable {
    /// Total attempts per change, the first one included (the reference product: 10).
    public var attempts: Int
    /// Delays before attempts 2, 3, …; the last delay repeats. `nil` uses the default schedule.
    public var backoff: [Duration]?
    /// Records per request; more than 1 sends a JSON array.
    public var batchSize: Int
    /// Deliveries in flight at once for this job.
    public var concurrency: Int
    /// HMAC-SHA256 signing secret (Standard Webhooks `webhook-signature`), a `{{secret.…}}` template.
    public var signingSecret: Template?

    /// Immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h.
    public static let defaultBackoff: [Duration] = [
        .zero, .seconds(5), .seconds(300), .seconds(1800), .seconds(7200), .seconds(18_000),
        .seconds(36_000), .seconds(50_400), .seconds(72_000), .seconds(86_400),
    ]

    public init(attempts: Int = 10, backoff: [Duration]? = nil, batchSize: Int = 1, concurrency: Int = 4, signingSecret: Template? = nil) {
        self.attempts = attempts
        self.backoff = backoff
        self.batchSize = batchSize
        self.concurrency = concurrency
        self.signingSecret = signingSecret
    }
}
