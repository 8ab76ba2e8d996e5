import SheetSyncCore
@testable import SheetSyncTransform
import Testing

/// `sheetsync infer` (issue 16, item 4): worksheets, fields and children proposed from a sample.
struct WorksheetInferenceTests {
    static func objects(_ json: String) throws -> [JSONObject] {
        try WorksheetInference.records(at: JSONPath(parsing: "$"), in: JSONReader.parse(json))
    }

    static func infer(_ json: String, worksheet: String = "orders", key: [String]? = nil) throws -> InferredWorksheet {
        try WorksheetInference().infer(worksheet: worksheet, records: JSONPath(parsing: "$"), sample: objects(json), key: key)
    }

    static func types(_ sheet: InferredWorksheet) -> [String: FieldType] {
        Dictionary(uniqueKeysWithValues: sheet.fields.map { ($0.name, $0.type) })
    }

    @Test(arguments: [
        // The JSON values one member has over the records, and the type that holds them all.
        (["1", "2", "3"], FieldType.integer),
        (["1", "2.5", "3"], .number),            // one float makes the column number, not decimal
        (["0.25", "1e3"], .number),
        (["1", "123456789012345678901234"], .decimal),  // past 64 bits: every digit kept
        (["\"42\"", "\"7\""], .integer),
        (["\"12345\"", "\"01234\""], .text),     // a leading zero in any record: a code, kept as written
        (["\"00123\""], .text),
        (["\"0\"", "\"10\""], .integer),          // "0" itself is no leading zero
        (["\"12.50\"", "\"0.5\""], .decimal),
        (["\"007.5\""], .text),
        (["true", "false", "null"], .boolean),
        (["\"2024-03-10T17:30:00Z\"", "\"2024-03-11T09:00:00+02:00\""], .datetime),
        (["\"2024-03-10\"", "\"2024-03-11\""], .date),
        (["\"2024-03-10\"", "\"2024-03-11T09:00:00Z\""], .datetime),
        (["1", "\"a\""], .text),                 // mixed kinds
        (["true", "1"], .text),
        (["null", "null"], .text),
        (["\"\"", "\"x\""], .text),
        (["\"\"", "\"5\""], .integer),             // an empty string says nothing (stored as NULL)
        (["\"12345678901234567890\""], .text),    // a 20-digit identifier
        (["\"+49 30 1234\""], .text),
    ])
    func typesAreInferredOverEveryRecord(values: [String], expected: FieldType) throws {
        // Each value in its own record: the type must hold all of them.
        let json = "[" + values.enumerated().map { #"{"id": "r\#($0.offset)", "v": \#($0.element)}"# }.joined(separator: ",") + "]"
        let sheet = try Self.infer(json)
        #expect(sheet.field(named: "v")?.type == expected, "\(values)")
    }

    @Test func alwaysNullMembersAreTextWithANote() throws {
        let sheet = try Self.infer(#"[{"id": 1, "note": null}, {"id": 2, "note": null}]"#)
        let note = try #require(sheet.field(named: "note"))
        #expect(note.type == .text)
        #expect(note.note?.contains("null in every sampled record") == true)
        #expect(sheet.schemaYAML().contains("  note: text  # null in every sampled record: check the type\n"))
    }

    @Test func nestedObjectsAreFlattenedWithTheirPaths() throws {
        let sheet = try Self.infer("""
            [{"id": "o1", "customer": {"email": "a@x.io", "address": {"city": "Berlin", "geo": {"lat": 1.5, "pos": {"x": 1}}}},
              "customerEmail": "dup", "Zip Code": "10115", "meta": {}, "_id": "m1"},
             {"id": "o2", "customer": {"email": "b@x.io", "address": null}, "customer_email": "collides", "meta": {}, "_id": "m2"}]
            """)
        let paths = Dictionary(uniqueKeysWithValues: sheet.fields.map { ($0.name, $0.path.text) })
        #expect(paths["customer_email"] == "$.customer.email")
        #expect(paths["customer_address_city"] == "$.customer.address.city")
        #expect(paths["customer_address_geo_lat"] == "$.customer.address.geo.lat")
        // Four members deep an object is kept whole.
        #expect(paths["customer_address_geo_pos"] == "$.customer.address.geo.pos")
        #expect(Self.types(sheet)["customer_address_geo_pos"] == .json)
        // Name collisions: the later one gets _2, _3; the path keeps the real member.
        #expect(paths["customer_email_2"] == "$.customerEmail")
        #expect(paths["customer_email_3"] == "$.customer_email")
        #expect(paths["zip_code"] == "$['Zip Code']")
        #expect(paths["meta"] == "$.meta" && Self.types(sheet)["meta"] == .json)
        // '_' is reserved for system columns: Mongo's _id is 'id'… which is taken here.
        #expect(paths["id_2"] == "$._id")
        #expect(sheet.fields.allSatisfy { WorksheetDefinition.isValidName($0.name) })
        #expect(sheet.mappingYAML().contains("  zip_code: \"$['Zip Code']\"\n"))
        #expect(sheet.key == ["id"])
    }

    @Test func arraysOfObjectsBecomeLinkedChildren() throws {
        let sheet = try Self.infer("""
            [{"id": 1, "tags": ["a", "b"], "items": [{"sku": "S1", "qty": 2, "taxes": [{"name": "vat", "rate": 0.19}]}, {"sku": "S2", "qty": 1, "taxes": []}]},
             {"id": 2, "tags": [], "items": [{"sku": "S1", "qty": 5, "taxes": [{"name": "vat", "rate": 0.07}]}]}]
            """)
        #expect(Self.types(sheet)["tags"] == .json)
        #expect(sheet.field(named: "items") == nil)
        let items = try #require(sheet.children.first)
        #expect(items.name == "orders_items")
        #expect(items.records.text == "$.items")
        #expect(items.parent == "orders")
        #expect(items.fields.map(\.name) == ["order_id", "sku", "qty"])
        #expect(items.fields[0].path.text == "$parent.id" && items.fields[0].type == .integer)
        // 'sku' repeats across orders but is unique within each one: the key is the link plus sku.
        #expect(items.key == ["order_id", "sku"])
        #expect(items.sampleCount == 3)
        let taxes = try #require(items.children.first)
        #expect(taxes.name == "orders_items_taxes")
        #expect(taxes.fields.map(\.path.text) == ["$parent.order_id", "$parent.sku", "$.name", "$.rate"])
        #expect(taxes.fields.map(\.name) == ["order_id", "item_sku", "name", "rate"])
        #expect(taxes.key == ["order_id", "item_sku", "name"])
        #expect(sheet.allWorksheets.map(\.name) == ["orders", "orders_items", "orders_items_taxes"])
        let mapping = sheet.mappingYAML()
        #expect(mapping.contains("""
            children:
              - worksheet: orders_items
                records: "$.items"
                fields:
                  order_id: "$parent.id"
                  sku: "$.sku"
            """))
        #expect(mapping.contains("      - worksheet: orders_items_taxes\n        records: \"$.taxes\"\n"))
    }

    @Test func theKeyIsGuessedFromUniqueValuesAndMarked() throws {
        // 'id' is not unique: the next candidate that is present and unique wins.
        let sheet = try Self.infer(#"[{"id": 1, "customer_id": "c1", "order_number": "A-1"}, {"id": 1, "customer_id": "c1", "order_number": "A-2"}]"#)
        #expect(sheet.key == ["order_number"])
        guard case .guessed(let reason) = sheet.keySource else { Issue.record("not a guess: \(sheet.keySource)"); return }
        #expect(reason.contains("'order_number'"))
        #expect(sheet.schemaYAML().contains("# key guessed from the sample ('order_number' is present in every sampled record and unique in the sample): check it\nkey: [order_number]\n"))

        // Nothing unique: no key, and the schema says so.
        let none = try Self.infer(#"[{"status": "paid", "total": 1.5}, {"status": "paid", "total": 2.5}]"#)
        #expect(none.key.isEmpty)
        #expect(!none.hasKeys)
        #expect(none.schemaYAML().contains("# no key found: no field is present in every sampled record and unique in the sample"))

        // A given key is used as it is, and must name a proposed field.
        let given = try Self.infer(#"[{"id": 1, "code": "x"}]"#, key: ["code"])
        #expect(given.key == ["code"] && given.keySource == .given)
        #expect(!given.schemaYAML().contains("guessed"))
        #expect(throws: PageReadError.self) { try Self.infer(#"[{"id": 1}]"#, key: ["idd"]) }
    }

    @Test func recordsPathProblemsSayWhatWasFound() throws {
        let document = try JSONReader.parse(#"{"data": [{"id": 1}], "meta": {"n": 1}}"#)
        #expect(try WorksheetInference.records(at: JSONPath(parsing: "$.data"), in: document).count == 1)
        let rows = try JSONPath(parsing: "$.rows"), number = try JSONPath(parsing: "$.meta.n")
        let nothing = #expect(throws: PageReadError.self) { try WorksheetInference.records(at: rows, in: document) }
        #expect(nothing?.message.contains("records path '$.rows' found nothing") == true, "\(String(describing: nothing))")
        #expect(nothing?.message.contains("'$.data' (an array of 1 object)") == true)
        let scalar = #expect(throws: PageReadError.self) { try WorksheetInference.records(at: number, in: document) }
        #expect(scalar?.message.contains("selects number values, not objects") == true, "\(String(describing: scalar))")
        #expect(throws: PageReadError.self) { try WorksheetInference.records(at: JSONPath(parsing: "$.data"), in: JSONReader.parse(#"{"data": []}"#)) }
    }

    @Test(arguments: [
        ("customerEmail", "customer_email"), ("HTTPStatus", "http_status"), ("Zip Code", "zip_code"),
        ("_id", "id"), ("2fa", "f_2fa"), ("Über", "uber"), ("Straße Nr", "strasse_nr"), ("日本", "field"), ("a--b", "a_b"),
    ])
    func memberNamesBecomeValidFieldNames(member: String, expected: String) {
        let name = FieldNaming.name([member])
        #expect(name == expected)
        #expect(WorksheetDefinition.isValidName(name))
    }

    /// `test --infer-schema` shares the type rules.
    @Test func testInferSchemaUsesTheSameTypes() throws {
        let yaml = SchemaInference.yaml(worksheet: "zips", records: [
            try JSONReader.parse(#"{"id": "a", "zip": "01234", "price": 1.5}"#),
            try JSONReader.parse(#"{"id": "b", "zip": "12345", "price": 2}"#),
        ])
        #expect(yaml.contains("  zip: text\n  price: number"))
    }
}
