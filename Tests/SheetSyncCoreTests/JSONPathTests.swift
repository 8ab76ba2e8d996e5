import Testing
@testable import SheetSyncCore

struct JSONPathTests {
    static let document = try! JSONReader.parse(#"""
        {"data": [{"id": 1, "tags": ["a", "b"], "odd key": {"x.y": true}}, {"id": 2, "tags": []}],
         "meta": {"next": null}, "$weird": 5}
        """#)

    @Test(arguments: [
        ("$", 1, "$"),
        ("$.data", 1, "$.data"),
        ("$.data[0].id", 1, "$.data[0].id"),
        ("$.data[-1].id", 1, "$.data[-1].id"),
        ("$.data[*].id", 2, "$.data[*].id"),
        ("$.data[*]", 2, "$.data[*]"),
        ("$.data[0].tags[*]", 2, "$.data[0].tags[*]"),
        ("$.data[0]['odd key']['x.y']", 1, "$.data[0]['odd key']['x.y']"),
        (#"$["data"][1]["id"]"#, 1, #"$["data"][1]["id"]"#),
        ("$.meta.next", 1, "$.meta.next"),
        ("$.meta.*", 1, "$.meta.*"),
        ("$.missing", 0, "$.missing"),
        ("$.data[5]", 0, "$.data[5]"),
        ("$['$weird']", 1, "$['$weird']"),
    ])
    func selects(path: String, count: Int, text: String) throws {
        let parsed = try JSONPath(parsing: path)
        #expect(parsed.select(in: Self.document).count == count)
        #expect(parsed.text == text)
    }

    @Test func valuesAreTheRightOnes() throws {
        #expect(try JSONPath(parsing: "$.data[1].id").value(in: Self.document) == .number("2"))
        #expect(try JSONPath(parsing: "$.data[-1].id").value(in: Self.document) == .number("2"))
        #expect(try JSONPath(parsing: "$.data[0]['odd key']['x.y']").value(in: Self.document) == .bool(true))
        #expect(try JSONPath(parsing: "$.meta.next").value(in: Self.document) == .null)
        #expect(try JSONPath(parsing: "$.meta.gone").value(in: Self.document) == nil)
        #expect(try JSONPath(parsing: "$.data[*].id").select(in: Self.document) == [.number("1"), .number("2")])
    }

    @Test func parentPathsReadTheParentRecord() throws {
        let path = try JSONPath(parsing: "$parent.id")
        #expect(path.root == .parent)
        let parent = try JSONReader.parse(#"{"id": "o-1"}"#)
        #expect(path.value(in: .object(JSONObject()), parent: parent) == .string("o-1"))
        #expect(path.value(in: .object(JSONObject()), parent: nil) == nil)
        #expect(try JSONPath(parsing: "$parent").components.isEmpty)
    }

    @Test func canonicalRenderingQuotesOddNames() {
        let path = JSONPath(components: [.member("a b"), .member("it's"), .index(0), .wildcard, .member("ok")])
        #expect(path.text == #"$['a b']['it\'s'][0][*].ok"#)
    }

    @Test(arguments: [
        ("", "invalid JSON path '': a path must start with '$'", 0),
        ("data.id", "invalid JSON path 'data.id': a path must start with '$' (for example '$.data.id')", 0),
        ("$.", "invalid JSON path '$.': expected a member name after '.'", 2),
        ("$..id", "invalid JSON path '$..id': expected a member name after '.'; '..' (recursive descent) is not supported", 2),
        ("$.a[", "invalid JSON path '$.a[': unclosed '['", 3),
        ("$.a[1", "invalid JSON path '$.a[1': expected ']'", 5),
        ("$.a['b]", "invalid JSON path '$.a['b]': unterminated quoted name", 4),
        ("$.a[?(@.x)]", "invalid JSON path '$.a[?(@.x)]': filter expressions ('[?...]') are not supported", 4),
        ("$.a[1:2]", "invalid JSON path '$.a[1:2]': slices ('[a:b]') are not supported", 5),
        ("$.a b", "invalid JSON path '$.a b': unexpected ' '; expected '.' or '['", 3),
        ("$.a@b", "invalid JSON path '$.a@b': unexpected '@'; expected '.' or '['", 3),
        ("$parentx", "invalid JSON path '$parentx': unexpected 'p'; expected '.' or '['", 1),
        ("$.a[x]", "invalid JSON path '$.a[x]': expected an index, '*' or a quoted name after '['", 4),
    ])
    func rejects(path: String, message: String, offset: Int) {
        #expect(throws: CoreError(.invalidJSONPath, message, offset: offset)) {
            try JSONPath(parsing: path)
        }
    }
}
