import SheetSyncCore

/// The demo shop's orders as they change over time.
public actor OrderBook {
    public struct Entry: Sendable {
        public var order: JSONValue
        public var updatedAt: UTCDateTime
    }

    public private(set) var entries: [Entry]
    private var touches = 0

    init(_ data: DemoShopData) {
        entries = zip(data.orders, data.updatedAt).map { Entry(order: $0, updatedAt: $1) }
    }

    public var orders: [JSONValue] { entries.map(\.order) }

    /// Moves the status of the next `count` orders on (round robin) and gives them an
    /// `updated_at` later than any before; returns their ids.
    @discardableResult
    public func touch(_ count: Int) -> [String] {
        var ids: [String] = []
        guard !entries.isEmpty else { return ids }
        let base = CivilDate.days(year: 2025, month: 1, day: 1) * 86_400
        for _ in 0..<count {
            let index = touches % entries.count
            touches += 1
            guard case .object(var object) = entries[index].order else { continue }
            let status: String
            if case .string(let current)? = object["status"], let position = DemoShopData.statuses.firstIndex(of: current) {
                status = DemoShopData.statuses[(position + 1) % DemoShopData.statuses.count]
            } else {
                status = "paid"
            }
            let updated = UTCDateTime(seconds: base + Int64(touches) * 60)
            for (i, member) in object.members.enumerated() {
                if member.key == "status" { object.members[i].value = .string(status) }
                if member.key == "updated_at" { object.members[i].value = .string(updated.description) }
                if member.key == "paid" { object.members[i].value = .bool(status != "pending" && status != "cancelled") }
            }
            entries[index] = Entry(order: .object(object), updatedAt: updated)
            if case .string(let id)? = object["id"] { ids.append(id) }
        }
        return ids
    }
}
