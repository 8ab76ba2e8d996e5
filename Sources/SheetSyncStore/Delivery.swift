import Foundation
import GRDB
import SheetSyncCore

/// One row of `_sheetsync_deliveries`.
public struct Delivery: Sendable, Equatable {
    public var id: Int64
    public var job: String
    public var worksheet: String
    /// JSON array of the record's key values.
    public var recordKey: String
    /// Sent as `Idempotency-Key` and `webhook-id`; the same on every attempt.
    public var changeID: String
    /// The first change captured for it (an unknown word written by another tool reads as `update`, never `delete`).
    public var firstOperation: PushJob.Operation
    /// What was sent, once frozen.
    public var operation: PushJob.Operation?
    public var state: DeliveryState
    public var attempts: Int
    public var nextAttemptAt: String
    public var payload: String?
    /// Where sheetsync sealed secrets in `payload` (`SealedText.sealsJSON`); nil when none.
    public var payloadSeals: String?
    /// The rendered request of the first attempt (`PreparedRequest.frozenText`), sealed.
    public var request: String?
    public var requestSeals: String?
    /// Deliveries sent in one request (`batch_size` > 1) share this id, sent as the
    /// request's `Idempotency-Key`; nil for a delivery sent alone under its change id.
    public var batchID: String?
    public var payloadHash: String?
    public var lastStatus: Int?
    public var lastError: String?
    public var reason: String?
    public var createdAt: String
    public var deliveredAt: String?

    /// The columns `init(row:)` reads, in order: select them by position (decoding by
    /// name lowercases each name per row, which showed in profiles).
    public static let columns = ["id", "job", "worksheet", "record_key", "change_id", "first_operation", "operation", "state", "attempts",
                          "next_attempt_at", "payload", "payload_seals", "request", "request_seals", "batch_id", "payload_hash",
                          "last_status", "last_error", "reason", "created_at", "delivered_at"]
    public static let selectColumns = columns.joined(separator: ", ")

    /// A row of `columns` read as text (nil for NULL), as another store returns it.
    public init(text row: [String?]) {
        func text(_ index: Int) -> String? { index < row.count ? row[index] : nil }
        func integer(_ index: Int) -> Int64? { text(index).flatMap { Int64($0) } }
        id = integer(0) ?? 0
        job = text(1) ?? ""
        worksheet = text(2) ?? ""
        recordKey = text(3) ?? ""
        changeID = text(4) ?? ""
        firstOperation = PushJob.Operation(rawValue: text(5) ?? "") ?? .update
        operation = text(6).map { PushJob.Operation(rawValue: $0) ?? .update }
        state = DeliveryState(rawValue: text(7) ?? "") ?? .failed
        attempts = Int(integer(8) ?? 0)
        nextAttemptAt = text(9) ?? ""
        payload = text(10)
        payloadSeals = text(11)
        request = text(12)
        requestSeals = text(13)
        batchID = text(14)
        payloadHash = text(15)
        lastStatus = integer(16).map(Int.init)
        lastError = text(17)
        reason = text(18)
        createdAt = text(19) ?? ""
        deliveredAt = text(20)
    }

    /// The rows `sql` selects with `selectColumns` (in that order), read straight from
    /// SQLite (`BoundStatement`): copying GRDB rows and decoding them showed as a tenth of
    /// a batch push's CPU (profile 2026-12-02).
    static func fetchAll(_ db: Database, sql: String, arguments: [SQLValue]) throws -> [Delivery] {
        let statement = BoundStatement(try db.cachedStatement(sql: sql), db)
        for (offset, value) in arguments.enumerated() { statement.bind(value, at: Int32(offset + 1)) }
        var found: [Delivery] = []
        try statement.forEachRow { row in found.append(Delivery(row)) }
        return found
    }

    /// The current row of a statement selecting `selectColumns`.
    init(_ row: BoundStatement) {
        id = row.integer(0) ?? 0
        job = row.text(1) ?? ""
        worksheet = row.text(2) ?? ""
        recordKey = row.text(3) ?? ""
        changeID = row.text(4) ?? ""
        firstOperation = PushJob.Operation(rawValue: row.text(5) ?? "") ?? .update
        operation = row.text(6).map { PushJob.Operation(rawValue: $0) ?? .update }
        state = DeliveryState(rawValue: row.text(7) ?? "") ?? .failed
        attempts = Int(row.integer(8) ?? 0)
        nextAttemptAt = row.text(9) ?? ""
        payload = row.text(10)
        payloadSeals = row.text(11)
        request = row.text(12)
        requestSeals = row.text(13)
        batchID = row.text(14)
        payloadHash = row.text(15)
        lastStatus = row.integer(16).map(Int.init)
        lastError = row.text(17)
        reason = row.text(18)
        createdAt = row.text(19) ?? ""
        deliveredAt = row.text(20)
    }

    /// The key values, decoded.
    public var keyValues: [SQLValue] { Self.keyValues(recordKey) }

    /// A change id that is unique forever: 122 random bits, never derived from a counter
    /// (the outbox sequence starts again in a new database file and goes back in a
    /// restored one, and receivers drop a change whose id they have already seen).
    public static func newChangeID() -> String { randomID(prefix: "chg_") }

    /// A batch id, unique forever in the same way (`bat_` and 32 hex digits).
    public static func newBatchID() -> String { randomID(prefix: "bat_") }

    /// `prefix` and a random (version 4) UUID's 32 lowercase hex digits.
    ///
    /// The bits come from the system's generator (`getrandom`); Foundation's `UUID()` on
    /// Linux opened, read and closed /dev/urandom for each id (three system calls per change
    /// taken in, strace 2026-12-01).
    public static func randomID(prefix: String) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var generator = SystemRandomNumberGenerator()
        var random = (generator.next() as UInt64, generator.next() as UInt64)
        var bytes = Array(prefix.utf8)
        bytes.reserveCapacity(prefix.utf8.count + 32)
        withUnsafeMutableBytes(of: &random) { raw in
            raw[6] = raw[6] & 0x0F | 0x40  // version 4
            raw[8] = raw[8] & 0x3F | 0x80  // variant 10
            for byte in raw {
                bytes.append(digits[Int(byte >> 4)])
                bytes.append(digits[Int(byte & 0x0F)])
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Decodes a record key as the capture triggers write it (`json_array(…)`).
    public static func keyValues(_ recordKey: String) -> [SQLValue] {
        guard case .array(let items)? = try? JSONReader.parse(recordKey) else { return [] }
        return items.map { item in
            switch item {
            case .number(let n): Int64(n).map(SQLValue.integer) ?? Double(n).map(SQLValue.real) ?? .text(n)
            case .string(let s): .text(s)
            case .bool(let b): .integer(b ? 1 : 0)
            default: .null
            }
        }
    }
}
