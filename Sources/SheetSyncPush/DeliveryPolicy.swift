import SheetSyncCore

/// When a failed delivery is tried again, and when it has failed for good.
///
/// The default schedule (immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h,
/// 24 h) follows the webhook senders users trust (Standard Webhooks, Svix, Stripe): a
/// delivery gets 10 attempts over about three days. Each delay gets up to 10% jitter so
/// that many failed deliveries do not all come back at once. `Retry-After` from the
/// receiver wins when it asks for longer.
public struct DeliveryPolicy: Sendable {
    public let attempts: Int
    public let backoff: [Duration]

    public init(_ spec: DeliverySpec) {
        attempts = spec.attempts
        backoff = spec.backoff ?? DeliverySpec.defaultBackoff
    }

    /// The wait before attempt `attempt + 1`, after `attempt` attempts have failed;
    /// `nil` when no attempt is left.
    public func delay(afterAttempt attempt: Int, retryAfter: Duration? = nil,
                      jitter: Double = Double.random(in: 0...0.1)) -> Duration? {
        guard attempt < attempts else { return nil }
        // backoff[0] is the wait before the first attempt (none); after attempt n comes backoff[n].
        let base = backoff.isEmpty ? Duration.zero : backoff[min(attempt, backoff.count - 1)]
        let jittered = base + base * jitter
        if let retryAfter, retryAfter > jittered { return retryAfter }
        return jittered
    }
}

/// The JSON a push job sends for a record ("Send Specified Data Object"): every user
/// field with its type — numbers as numbers, decimals with every digit, booleans,
/// date-times as ISO-8601 text, json fields as JSON — and no system columns.
public enum RecordPayload {
    public static func object(fields: [WorksheetDefinition.Field], values: [String: SQLValue]) -> JSONValue {
        .object(JSONObject(fields.map { field in
            JSONObject.Member(key: field.name, value: typed(values[field.name] ?? .null, as: field.type))
        }))
    }

    public static func typed(_ value: SQLValue, as type: FieldType) -> JSONValue {
        switch (type, value) {
        case (_, .null): return .null
        case (.boolean, .integer(let flag)): return .bool(flag != 0)
        case (.decimal, .text(let digits)):
            return DecimalText.normalize(digits).map(JSONValue.number) ?? .string(digits)
        case (.json, .text(let text)):
            return (try? JSONReader.parse(text)) ?? .string(text)
        case (.integer, .text(let text)), (.number, .text(let text)):
            return DecimalText.normalize(text).map(JSONValue.number) ?? .string(text)
        default:
            return value.jsonValue
        }
    }
}

/// What happens to a delivery (or a batch) after an attempt the receiver did not accept.
public enum RetryDecision: Sendable, Equatable {
    /// Try again after this wait.
    case retry(after: Duration)
    /// Failed for good, for this reason.
    case giveUp(reason: String)
    /// The endpoint answered 410 Gone: the job is disabled until the user replays.
    case gone
}

extension DeliveryPolicy {
    /// The status that disables the job (410 Gone): after it, a pass sends nothing more.
    public static let goneStatus = 410

    /// The decision after `attemptsDone` attempts, the last answered with `status` (nil when
    /// no answer came) and possibly a `Retry-After` (already clamped by the HTTP layer).
    public func decide(status: Int?, retryAfter: Duration?, attemptsDone: Int) -> RetryDecision {
        if status == Self.goneStatus { return .gone }
        if let delay = delay(afterAttempt: attemptsDone, retryAfter: retryAfter) { return .retry(after: delay) }
        return .giveUp(reason: "attempts exhausted")
    }
}
