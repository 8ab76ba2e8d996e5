import Testing
@testable import SheetSyncCore

/// Reading under a projection (issue 17) must find, at every path the projection was built
/// from, exactly what the full tree has there; and accept and refuse the same documents,
/// with the same errors, as the plain reader.
struct JSONProjectionTests {
    static func projection(_ paths: [String], records: [(String, [String])] = []) throws -> JSONProjection {
        var projection = JSONProjection()
        for text in paths { projection.add(try JSONPath(parsing: text).components[...]) }
        for (path, fields) in records {
            var each = JSONProjection()
            for text in fields { each.add(try JSONPath(parsing: text).components[...]) }
            projection.add(records: try JSONPath(parsing: path).components[...], each: each)
        }
        return projection
    }

    static let order = #"{"id": "o-1", "amount": {"value": "12.50", "currency": "EUR"}, "shipping": {"line1": "x", "city": "B\u00e9"}, "items": [{"sku": "A", "qty": 2, "extra": [1, {"z": null}]}, {"sku": "B"}]}"#

    static let documents: [String] = JSONReaderTests.corpus + [order,
        #"{"id": "o-1", "amount": {"value": "12.50", "currency": "EUR"}, "shipping": {"line1": "x", "city": "B\u00e9"}, "items": [{"sku": "A", "qty": 2, "extra": [1, {"z": null}]}, {"sku": "B"}]}"#,
        #"{"id": 7, "amount": "not an object", "items": {"sku": "single", "qty": 1}}"#,
        #"{"id": 7, "items": null, "amount": [1, 2]}"#,
        #"{"amount": {"value": 1}, "amount": {"currency": "x"}, "id": 1, "id": 2}"#,
        #"{"\u0069d": "escaped key", "caf\u00e9": 1, "\u212Aey": "kelvin sign"}"#,
        #"[{"id": 1}, {"id": 2, "other": "skipped"}]"#,
    ]

    @Test(arguments: documents)
    func keepsWhatItsPathsRead(_ text: String) throws {
        let projection = try Self.projection(["$.id", "$.amount.value", "$.Key", "$.tags[0]"], records: [("$.items", ["$.sku", "$.qty"])])
        let full = try JSONReader.parse(text)
        let projected = try JSONReader.parse(Array(text.utf8), projection: projection)
        #expect(projected == projection.applied(to: full))
        for path in ["$.id", "$.amount.value", "$.Key", "$.tags[0]", "$.items"] {
            let path = try JSONPath(parsing: path)
            if path.text == "$.items" { continue }
            #expect(path.value(in: projected) == path.value(in: full), "\(path.text) in \(text.prefix(60))")
        }
    }

    @Test func dropsWhatNothingReads() throws {
        let projection = try Self.projection(["$.id", "$.amount.value"], records: [("$.items", ["$.sku"])])
        let value = try JSONReader.parse(Array(Self.order.utf8), projection: projection)
        #expect(value == (try JSONReader.parse(#"{"id": "o-1", "amount": {"value": "12.50"}, "items": [{"sku": "A"}, {"sku": "B"}]}"#)))
        // A single object where the records are expected is read as a record too.
        let single = try JSONReader.parse(Array(#"{"items": {"sku": "S", "qty": 1}, "id": 1}"#.utf8), projection: projection)
        #expect(single == (try JSONReader.parse(#"{"items": {"sku": "S"}, "id": 1}"#)))
    }

    @Test func aKelvinSignMatchesAnASCIIName() throws {
        // Swift compares member names by canonical equivalence: U+212A is "K".
        let projection = try Self.projection(["$.Key"])
        let value = try JSONReader.parse(Array(#"{"\u212Aey": 1, "other": 2}"#.utf8), projection: projection)
        #expect(try JSONPath(parsing: "$.Key").value(in: value) == .number("1"))
    }

    @Test func keepsWholeWhatAPathReadsWhole() throws {
        let projection = try Self.projection(["$.amount", "$.amount.value", "$.*"])
        #expect(projection.keepsWhole)
        let tags = try Self.projection(["$.tags[1]"])
        let value = try JSONReader.parse(Array(#"{"tags": [{"a": 1}, {"b": 2}], "x": 1}"#.utf8), projection: tags)
        #expect(value == (try JSONReader.parse(#"{"tags": [{"a": 1}, {"b": 2}]}"#)))
    }

    static let invalid: [String] = JSONReaderTests.invalid.map(\.0) + [
        #"{"id": 1, "skipped": [1, 2,]}"#, #"{"skipped": {"a" 1}, "id": 1}"#, #"{"skipped": "\x", "id": 1}"#,
        #"{"skipped": tru, "id": 1}"#, #"{"skipped": 01}"#, #"{"skipped": "a"#, #"{"skipped": [1} "#,
        #"{"id": 1} trailing"#, "{\"skipped\": \"\u{1}\"}", #"{"skipped": "\ud800"}"#,
        "{\"skipped\": " + String(repeating: "[", count: 600) + String(repeating: "]", count: 600) + "}",
    ]

    @Test(arguments: invalid)
    func refusesWhatThePlainReaderRefuses(_ text: String) throws {
        let projection = try Self.projection(["$.id"])
        var plain: CoreError?
        var projected: CoreError?
        do { _ = try JSONReader.parse(text) } catch { plain = error }
        do { _ = try JSONReader.parse(Array(text.utf8), projection: projection) } catch { projected = error }
        #expect(plain != nil)
        #expect(projected?.message == plain?.message)
    }

    @Test func refusesInvalidUTF8InASkippedMember() {
        let bytes: [UInt8] = Array(#"{"skipped": ""#.utf8) + [0xC3, 0x28] + Array(#"", "id": 1}"#.utf8)
        #expect(throws: CoreError.self) { try JSONReader.parse(bytes, projection: try Self.projection(["$.id"])) }
        #expect(throws: CoreError.self) { try JSONReader.parse(bytes) }
    }
}
