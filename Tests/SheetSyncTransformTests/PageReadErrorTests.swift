import Testing
import SheetSyncCore
@testable import SheetSyncTransform

/// The transform stage reports every problem as one `PageReadError`, with a stable code
/// and the error underneath kept.
struct PageReadErrorTests {
    func reader() throws -> PageReader {
        PageReader(mapper: try GetMultipleDataTests().mapper())
    }

    @Test func aBodyThatIsNotJSONKeepsTheReadersError() throws {
        let error = try #require(throws: PageReadError.self) {
            try reader().read(Array(#"{"data": [{"id": "o1"}, {"id": "o2""#.utf8))
        }
        #expect(error.code == .invalidJSON)
        #expect(error.code.rawValue == "invalid_json")
        let cause = try #require(error.underlying as? CoreError)
        #expect(cause.code == .invalidJSON)
        #expect(error.message == cause.message)
    }

    @Test func theRecordsMemberAgainAfterTheArrayIsAnUnexpectedResponse() throws {
        let error = try #require(throws: PageReadError.self) {
            try reader().read(Array(#"{"data": [{"id": "o1"}], "data": {"id": "o2"}}"#.utf8))
        }
        #expect(error.code == .unexpectedResponse)
        #expect(error.message.contains("appears more than once"), "\(error.message)")
    }

    @Test func aValueThatDoesNotConvertKeepsTheConversionError() throws {
        let mapper = try FieldMapper([FieldMapping(field: "total", path: try JSONPath(parsing: "$.total"))], in: GetMultipleDataTests.orders)
        let error = try #require(throws: PageReadError.self) {
            try mapper.row(from: try JSONReader.parse(#"{"total": "lots"}"#))
        }
        #expect(error.code == .conversionFailed)
        #expect(error.message == "field 'total' ($.total): expected a decimal, found the string 'lots'")
        #expect((error.underlying as? CoreError)?.code == .conversionFailed)
    }

    @Test func aFieldTheWorksheetLacksIsAnInvalidJob() throws {
        let error = try #require(throws: PageReadError.self) {
            try FieldMapper([FieldMapping(field: "nope", path: try JSONPath(parsing: "$.x"))], in: GetMultipleDataTests.orders)
        }
        #expect(error.code == .invalidJob)
        #expect(error.message == "field 'nope' is not in worksheet 'orders'")
    }
}
