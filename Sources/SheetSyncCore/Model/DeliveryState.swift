/// Where a push delivery stands in `_sheetsync_deliveries`.
public enum DeliveryState: String, Sendable, CaseIterable {
    /// Waiting for its first attempt or a retry (`next_attempt_at`).
    case pending
    /// The receiver acknowledged it.
    case delivered
    /// Given up: attempts exhausted, a 410, or a request that cannot be made (`reason` says which).
    case failed
    /// Nothing to send: `when` false, an operation not in `on`, unchanged pushed fields, or dropped.
    case skipped
}
