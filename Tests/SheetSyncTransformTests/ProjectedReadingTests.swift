import Testing
import SheetSyncCore
@testable import SheetSyncTransform

/// Streamed records are parsed under the job's projection (issue 17); a page must come
/// out the same as from full trees, rejects quoting the records as sent.
struct ProjectedReadingTests {
    static let body = #"""
        {"data": [
          {"id": 1, "amount": {"value": "12.50", "currency": "EUR"}, "paid": "true", "updated_at": "2024-03-10T14:00:00+02:00",
           "customer": {"email": "a@x", "name": "unused"}, "shipping": {"line1": "unused", "city": "Berlin"},
           "items": [{"sku": "A", "quantity": "2", "note": "unused"}, {"sku": "B", "quantity": 1}]},
          {"id": "o-2", "amount": {"value": 7}, "paid": 0, "updated_at": 1710079200, "items": {"sku": "single", "quantity": 3}},
          {"id": "o-3", "amount": {"value": "not a number"}, "paid": 1, "updated_at": 1710079200, "unused": [1, 2, {"a": null}]},
          {"id": "o-4", "amount": {"value": 1}, "paid": 1, "updated_at": 1710079200, "items": [{"sku": "C", "quantity": "many"}]},
          {"id": "o-5", "amount": "flat", "customer": [1], "items": null}
        ], "page": 1}
        """#

    @Test func aProjectedPageEqualsAFullOne() throws {
        let mapper = try GetMultipleDataTests().mapper()
        let projection = try #require(mapper.recordProjection)
        #expect(projection.members.map(\.name).sorted() == ["amount", "customer", "id", "items", "paid", "updated_at"])
        let projected = try PageReader(mapper: mapper).read(Array(Self.body.utf8)).page
        let full = try PageReader(mapper: mapper, projecting: false).read(Array(Self.body.utf8)).page
        #expect(projected.rows.rows == full.rows.rows)
        #expect(projected.children.map(\.rows.rows) == full.children.map(\.rows.rows))
        #expect(projected.children.map(\.parentKeys) == full.children.map(\.parentKeys))
        #expect(projected.recordCount == 5)
        // Two rejects (o-3's amount, o-4's item), quoting everything the API sent.
        #expect(projected.rejects.count == 2)
        #expect(projected.rejects.map(\.raw) == full.rejects.map(\.raw))
        #expect(projected.rejects.first?.raw.contains("\"unused\":[1,2,{\"a\":null}]") == true)
    }

    @Test func perRecordStepsReadWholeRecords() throws {
        var job = try GetMultipleDataTests().mapper().job
        job.steps = [RequestStep(name: "detail", perRecord: true, request: HTTPRequestSpec(url: Template(literal: "http://x")))]
        let mapper = try GetMultipleData(jobName: "j", job: job, worksheet: GetMultipleDataTests.orders,
                                         worksheets: ["orders": GetMultipleDataTests.orders, "items": GetMultipleDataTests.items])
        #expect(mapper.recordProjection == nil)
    }
}
