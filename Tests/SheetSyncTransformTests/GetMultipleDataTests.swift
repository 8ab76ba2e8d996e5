import Testing
import SheetSyncCore
@testable import SheetSyncTransform

struct GetMultipleDataTests {
    static let orders = WorksheetDefinition(name: "orders", key: ["id"], fields: [
        .init(name: "id", type: .text), .init(name: "total", type: .decimal), .init(name: "paid", type: .boolean),
        .init(name: "updated_at", type: .datetime), .init(name: "email", type: .text),
    ])
    static let items = WorksheetDefinition(name: "items", key: ["order_id", "sku"], fields: [
        .init(name: "order_id", type: .text), .init(name: "sku", type: .text), .init(name: "qty", type: .integer),
    ])

    func mapper(records: String = "$.data", children: Bool = true) throws -> GetMultipleData {
        let fields = [("id", "$.id"), ("total", "$.amount.value"), ("paid", "$.paid"), ("updated_at", "$.updated_at"), ("email", "$.customer.email")]
        let child = ChildMapping(worksheet: "items", records: try JSONPath(parsing: "$.items"), fields: [
            FieldMapping(field: "order_id", path: try JSONPath(parsing: "$parent.id")),
            FieldMapping(field: "sku", path: try JSONPath(parsing: "$.sku")),
            FieldMapping(field: "qty", path: try JSONPath(parsing: "$.quantity")),
        ])
        let job = PullJob(request: HTTPRequestSpec(url: Template(literal: "http://x")), records: try JSONPath(parsing: records),
                          fields: try fields.map { FieldMapping(field: $0.0, path: try JSONPath(parsing: $0.1)) },
                          children: children ? [child] : [])
        return try GetMultipleData(jobName: "j", job: job, worksheet: Self.orders, worksheets: ["orders": Self.orders, "items": Self.items])
    }

    @Test func anArrayBecomesRowsWithConvertedValues() throws {
        let response = try JSONReader.parse(#"""
            {"data": [
              {"id": 1, "amount": {"value": "12.50"}, "paid": "true", "updated_at": "2024-03-10T14:00:00+02:00",
               "customer": {"email": "a@x"}, "items": [{"sku": "A", "quantity": "2"}, {"sku": "B", "quantity": 1}]},
              {"id": "o-2", "amount": {"value": 7}, "paid": 0, "updated_at": 1710079200, "items": []}
            ]}
            """#)
        let page = try mapper().transform(response)
        #expect(page.recordCount == 2)
        #expect(page.rows.columns == ["id", "total", "paid", "updated_at", "email"])
        #expect(page.rows.rows == [
            [.text("1"), .text("12.50"), .integer(1), .text("2024-03-10T12:00:00Z"), .text("a@x")],
            [.text("o-2"), .text("7"), .integer(0), .text("2024-03-10T14:00:00Z"), .null],
        ])
        #expect(page.children.count == 1)
        #expect(page.children[0].linkColumns == ["order_id"])
        #expect(page.children[0].parentKeys == [[.text("1")], [.text("o-2")]])
        #expect(page.children[0].rows.rows == [[.text("1"), .text("A"), .integer(2)], [.text("1"), .text("B"), .integer(1)]])
        #expect(page.rejects.isEmpty)
    }

    @Test func aSingleObjectIsOneRow() throws {
        let page = try mapper(records: "$", children: false).transform(try JSONReader.parse(#"{"id": "solo", "paid": true}"#))
        #expect(page.rows.rows.count == 1)
        #expect(page.rows.rows[0][0] == .text("solo"))
    }

    @Test func anEmptyArrayOrNullIsNoRows() throws {
        #expect(try mapper().transform(try JSONReader.parse(#"{"data": []}"#)).rows.rows.isEmpty)
        #expect(try mapper().transform(try JSONReader.parse(#"{"data": null}"#)).rows.rows.isEmpty)
    }

    @Test func aScalarAtTheRecordsPathIsAClearError() throws {
        let scalar = try #require(throws: PageReadError.self) {
            try mapper().transform(try JSONReader.parse(#"{"data": "oops"}"#))
        }
        #expect(scalar.code == .unexpectedResponse)
        #expect(scalar.message == "records path '$.data' must select an array or an object, found a string (\"oops\")")
        let missing = try #require(throws: PageReadError.self) {
            try mapper().transform(try JSONReader.parse(#"{"items": [], "count": 0}"#))
        }
        #expect(missing.code == .unexpectedResponse)
        #expect(missing.message == "records path '$.data' found nothing (the response is an object with members 'items', 'count'); check 'records' in the job against a sample ('sheetsync test JOB')")
    }

    @Test func unconvertibleRecordsAreRejectedAndTheRestGoOn() throws {
        let response = try JSONReader.parse(#"""
            {"data": [
              {"id": "ok", "amount": {"value": "1.00"}},
              {"id": "bad", "amount": {"value": "twelve"}},
              {"amount": {"value": "3"}},
              {"id": "child-bad", "items": [{"sku": "A", "quantity": 1.5}, {"sku": "B", "quantity": 2}]}
            ]}
            """#)
        let page = try mapper().transform(response)
        #expect(page.rows.rows.map { $0[0] } == [.text("ok"), .text("child-bad")])
        #expect(page.rejects.map(\.reason) == [
            "field 'total' ($.amount.value): expected a decimal, found the string 'twelve'",
            "key field 'id' is missing ($.id found nothing)",
            "field 'qty' ($.quantity): expected an integer, found the number 1.5",
        ])
        #expect(page.rejects.map(\.worksheet) == ["orders", "orders", "items"])
        #expect(page.rejects[0].raw == #"{"id":"bad","amount":{"value":"twelve"}}"#)
        #expect(page.children[0].rows.rows == [[.text("child-bad"), .text("B"), .integer(2)]])
    }

    @Test func wildcardRecordsFlattenArrays() throws {
        let page = try mapper(records: "$.groups[*].data", children: false).transform(try JSONReader.parse(#"""
            {"groups": [{"data": [{"id": 1}, {"id": 2}]}, {"data": [{"id": 3}]}]}
            """#))
        #expect(page.rows.rows.map { $0[0] } == [.text("1"), .text("2"), .text("3")])
    }

    @Test func childrenMustLinkTheParentKey() throws {
        let job = PullJob(request: HTTPRequestSpec(url: Template(literal: "http://x")), records: JSONPath(components: []),
                          fields: [FieldMapping(field: "id", path: try JSONPath(parsing: "$.id"))],
                          children: [ChildMapping(worksheet: "items", records: try JSONPath(parsing: "$.items"),
                                                  fields: [FieldMapping(field: "sku", path: try JSONPath(parsing: "$.sku"))])])
        let error = try #require(throws: PageReadError.self) {
            try GetMultipleData(jobName: "j", job: job, worksheet: Self.orders, worksheets: ["items": Self.items])
        }
        #expect(error.code == .invalidJob)
        #expect(error.message.contains("must map every key field of 'orders' from $parent"), "\(error.message)")
    }
}

struct SchemaInferenceTests {
    @Test func guessesTypesFromSamples() throws {
        let records = try JSONReader.parse(#"""
            [{"id": 1, "name": "a", "price": 9.99, "active": true, "created": "2024-03-10T12:00:00Z", "day": "2024-03-10",
              "tags": ["x"], "note": null, "odd key": 1},
             {"id": 2, "name": "b", "price": 10, "active": false, "created": "2024-03-11T12:00:00+01:00", "day": "2024-03-11",
              "tags": [], "note": "hi", "odd key": 2}]
            """#)
        guard case .array(let list) = records else { Issue.record("not an array"); return }
        // A JSON float is a number (a double), not a decimal (issue 16, item 4).
        #expect(SchemaInference.yaml(worksheet: "things", records: list) == """
            worksheet: things
            key: [id]
            fields:
              id: integer
              name: text
              price: number
              active: boolean
              created: datetime
              day: date
              tags: json
              note: text
            # members not usable as field names (rename them and map with $['...']): odd key
            """)
    }
}
