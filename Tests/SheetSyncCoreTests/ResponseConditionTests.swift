import Testing
@testable import SheetSyncCore

/// `request.error.when` and the `$response` document (issue 16, items 5 and 6).
struct ResponseConditionTests {
    func holds(_ condition: String, _ body: String) throws -> Bool {
        try ResponseCondition(parsing: condition).holds(in: try JSONReader.parse(body))
    }

    @Test func theReferenceExampleAndMissingMembers() throws {
        #expect(try holds("$.error_code != 0", #"{"error_code": 10001, "reason": "KEY error"}"#))
        #expect(try !holds("$.error_code != 0", #"{"error_code": 0}"#))
        #expect(try !holds("$.error_code != 0", #"{"error_code": 0.0}"#), "numbers compare as numbers")
        // A success without the member is no error; null matches only '== null'.
        #expect(try !holds("$.error_code != 0", #"{"data": []}"#))
        #expect(try holds("$.error == null", #"{"data": []}"#))
        #expect(try holds("$.error != null", #"{"error": "x"}"#))
        #expect(try !holds("$.error != null", #"{"error": null}"#))
    }

    @Test func operatorsLiteralsAndCombinations() throws {
        #expect(try holds(#"$.status == "error""#, #"{"status": "error"}"#))
        #expect(try holds("$.status == 'a || b'", #"{"status": "a || b"}"#), "an operator inside quotes is text")
        #expect(try holds("$.code >= 400", #"{"code": 404}"#))
        #expect(try !holds("$.code < 400", #"{"code": 404}"#))
        #expect(try !holds("$.code > 1", #"{"code": "9"}"#), "a string is never ordered against a number")
        #expect(try holds("$.ok == false", #"{"ok": false}"#))
        #expect(try holds("!$.ok", #"{"ok": false}"#))
        #expect(try holds("$.errors", #"{"errors": [1]}"#))
        #expect(try !holds("$.errors", #"{"errors": []}"#))
        #expect(try holds(#"$.ok == false && $.code == 7 || $.fatal"#, #"{"ok": true, "fatal": true}"#))
        #expect(try !holds(#"$.ok == false && $.code == 7"#, #"{"ok": false, "code": 8}"#))
    }

    @Test func badConditionsSayWhatIsWrong() {
        for (text, expected) in [("error_code != 0", "is not a JSON path"), ("$.a = 1", "compare with '=='"),
                                 ("$.a == nope", "is not a value"), ("$.a[*] == 1", "must select one value"),
                                 ("$.a == 'open", "no closing"), ("$.a && ", "a test is empty")] {
            #expect(throws: CoreError.self) { try ResponseCondition(parsing: text) }
            do {
                _ = try ResponseCondition(parsing: text)
            } catch {
                #expect(error.message.contains(expected), "\(text): \(error.message)")
            }
        }
    }

    @Test func theResponseDocumentFoldsHeaderCaseAndRepeats() throws {
        let document = ResponseMetadata.document(status: 204, headers: [("ETag", "\"v1\""), ("Vary", "Accept"), ("vary", "Origin")])
        #expect(ResponseMetadata.status(in: document) == 204)
        let path = try ResponseMetadata.canonical(try JSONPath(parsing: "$response.headers.VARY")).get()
        #expect(path.value(in: .null, response: document) == .string("Accept, Origin"))
        #expect(try ResponseMetadata.canonical(try JSONPath(parsing: "$response.headers.etag")).get().value(in: .null, response: document) == .string("\"v1\""))
        #expect(throws: CoreError.self) { try ResponseMetadata.canonical(try JSONPath(parsing: "$response.body")).get() }
    }
}
