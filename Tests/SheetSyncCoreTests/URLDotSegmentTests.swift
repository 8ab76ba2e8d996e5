import Testing
@testable import SheetSyncCore

/// `renderURL` refuses values that would make a whole path segment `.` or `..`, which
/// servers and proxies resolve to another resource (issue 12).
struct URLDotSegmentTests {
    static let values = TemplateValues(env: ["BASE": "https://shop.example"], secrets: ["TOKEN": ".."],
                                       params: ["dot": ".", "dots": "..", "empty": "", "name": "x"])

    func render(_ text: String, id: String) throws -> String {
        var values = Self.values
        values.record = ["id": .string(id)]
        return try Template(parsing: text).renderURL(values)
    }

    @Test(arguments: [
        // A value that is the whole segment, bounded by '/', the end, '?' or '#'.
        ("{{env.BASE}}/orders/{{record.id}}/notes", "..", "'{{record.id}}' is '..', which would make a whole path segment '..'"),
        ("{{env.BASE}}/orders/{{record.id}}/notes", ".", "'{{record.id}}' is '.', which would make a whole path segment '.'"),
        ("{{env.BASE}}/orders/{{record.id}}", "..", "'{{record.id}}' is '..', which would make a whole path segment '..'"),
        ("{{env.BASE}}/orders/{{record.id}}?expand=1", "..", "'{{record.id}}' is '..', which would make a whole path segment '..'"),
        ("{{env.BASE}}/orders/{{record.id}}#top", "..", "'{{record.id}}' is '..', which would make a whole path segment '..'"),
        // A value that completes dots the template spells out.
        ("{{env.BASE}}/orders/.{{record.id}}/notes", ".", "'{{record.id}}' is '.', which would make a whole path segment '..'"),
        ("{{env.BASE}}/orders/.{{record.id}}/notes", "", "'{{record.id}}' is '', which would make a whole path segment '.'"),
        // Percent-encoded dots: the WHATWG parser and many servers read %2e as '.'.
        ("{{env.BASE}}/orders/%2e{{record.id}}/notes", ".", "would make a whole path segment '%2e.', read as '..',"),
        ("{{env.BASE}}/orders/{{record.id}}%2E/notes", ".", "would make a whole path segment '.%2E', read as '..',"),
        ("{{env.BASE}}/orders/%2e{{record.id}}%2e/notes", "", "would make a whole path segment '%2e%2e', read as '..',"),
        ("{{env.BASE}}/orders/%2E{{record.id}}", "", "would make a whole path segment '%2E', read as '.',"),
        // Two values together; the first is named.
        ("{{env.BASE}}/orders/{{param.dot}}{{param.dot}}/notes", "x", "'{{param.dot}}' is '.', which would make a whole path segment '..'"),
        ("{{env.BASE}}/a/{{param.dots}}", "x", "'{{param.dots}}' is '..', which would make a whole path segment '..'"),
    ])
    func refusesValuesThatMakeDotSegments(template: String, id: String, reason: String) {
        let error = #expect(throws: CoreError.self) { try render(template, id: id) }
        #expect(error?.code == .invalidTemplate)
        #expect(error?.message.contains(reason) == true, "\(error?.message ?? "")")
        #expect(error?.message.hasSuffix("and address another resource; refusing to send it") == true)
    }

    @Test func theWholeMessageNamesTheReferenceAndTheValue() {
        #expect(throws: CoreError(.invalidTemplate, "the value of '{{record.id}}' is '..', which would make a whole path segment '..' and address another resource; refusing to send it")) {
            try render("{{env.BASE}}/orders/{{record.id}}/notes", id: "..")
        }
    }

    @Test func aSecretIsNotShownInTheMessage() {
        #expect(throws: CoreError(.invalidTemplate, "the value of '{{secret.TOKEN}}' would make a whole path segment '.' or '..' (or an encoded form of one) and address another resource; refusing to send it")) {
            try render("{{env.BASE}}/keys/{{secret.TOKEN}}", id: "x")
        }
    }

    @Test(arguments: [
        // Dots inside a longer segment are an ordinary name.
        ("{{env.BASE}}/orders/{{record.id}}/notes", "..x", "https://shop.example/orders/..x/notes"),
        ("{{env.BASE}}/orders/{{record.id}}/notes", "a..b", "https://shop.example/orders/a..b/notes"),
        ("{{env.BASE}}/orders/{{record.id}}/notes", "...", "https://shop.example/orders/.../notes"),
        ("{{env.BASE}}/orders/{{record.id}}/notes", ".x.", "https://shop.example/orders/.x./notes"),
        // Encoded by the renderer: neither '/' nor '%' survives, so no dot segment forms.
        ("{{env.BASE}}/orders/{{record.id}}/notes", "a/..", "https://shop.example/orders/a%2F../notes"),
        ("{{env.BASE}}/orders/{{record.id}}/notes", "%2e%2e", "https://shop.example/orders/%252e%252e/notes"),
        // Values in the query or fragment address nothing.
        ("{{env.BASE}}/orders?id={{record.id}}", "..", "https://shop.example/orders?id=.."),
        ("{{env.BASE}}/orders?path=/{{record.id}}/x", "..", "https://shop.example/orders?path=/../x"),
        ("{{env.BASE}}/orders#{{record.id}}", "..", "https://shop.example/orders#.."),
        // Dots the template itself spells out are the author's choice.
        ("{{env.BASE}}/v1/../orders/{{record.id}}", "7", "https://shop.example/v1/../orders/7"),
        ("{{env.BASE}}/orders/{{record.id}}/..", "7", "https://shop.example/orders/7/.."),
        ("{{env.BASE}}/orders/{{record.id}}/%2e%2e", "", "https://shop.example/orders//%2e%2e"),
        // The first part is the base URL and goes in as it is.
        ("{{param.dots}}/orders/{{record.id}}", "7", "../orders/7"),
    ])
    func allowsOtherValues(template: String, id: String, url: String) throws {
        #expect(try render(template, id: id) == url)
    }
}
