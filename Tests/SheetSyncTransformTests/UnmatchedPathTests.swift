import Testing
import SheetSyncCore
@testable import SheetSyncTransform

/// Issue 18: a typo in a field's JSON path filled the column with NULL and said nothing.
/// A path that finds nothing in any record mapped is a warning; one that finds `null`
/// somewhere, a key field and a `$parent.…` link are not.
struct UnmatchedPathTests {
    let pages = [
        #"{"data": [{"id": 1, "amount": {"value": "2"}, "paid": null, "items": [{"sku": "A", "qty": 1}]}]}"#,
        #"{"data": [{"id": 2, "amount": {"value": "3"}, "items": [{"sku": "B", "qty": 2}]}]}"#,
    ]

    @Test func onlyPathsThatFoundNothingInAnyPageAreReported() throws {
        // 'updated_at' is mistyped, 'email' too; 'paid' is null once (the API sends it):
        // only the first two are reported. Items' 'qty' is mapped from '$.quantity': a typo.
        let mapper = try GetMultipleDataTests().mapper()
        var matches = PathMatches()
        for page in pages { matches.merge(try mapper.transform(try JSONReader.parse(page)).matches) }
        let warnings = mapper.unmatchedPathWarnings(matches)
        #expect(warnings.count == 3, "\(warnings)")
        #expect(warnings.contains { $0.hasPrefix("field 'updated_at' of 'orders' ($.updated_at) found nothing in any of the 2 records mapped") })
        #expect(warnings.contains { $0.hasPrefix("field 'email' of 'orders' ($.customer.email) found nothing") })
        #expect(warnings.contains { $0.hasPrefix("field 'qty' of 'items' ($.quantity) found nothing in any of the 2 records mapped") })
        #expect(warnings.allSatisfy { $0.contains("'sheetsync test j'") })

        // One page where the member is present is enough.
        let later = try mapper.transform(try JSONReader.parse(#"{"data": [{"id": 3, "updated_at": null, "customer": {"email": "a@x"}, "items": [{"sku": "C", "quantity": 1}]}]}"#))
        matches.merge(later.matches)
        #expect(mapper.unmatchedPathWarnings(matches).isEmpty, "\(mapper.unmatchedPathWarnings(matches))")
    }

    @Test func noRecordsMeansNothingToReport() throws {
        let mapper = try GetMultipleDataTests().mapper()
        let page = try mapper.transform(try JSONReader.parse(#"{"data": []}"#))
        #expect(mapper.unmatchedPathWarnings(page.matches).isEmpty)
        // A record without children: the child level mapped nothing, so says nothing.
        let lone = try mapper.transform(try JSONReader.parse(#"{"data": [{"id": 1, "amount": {"value": 1}, "paid": true, "updated_at": null, "customer": {"email": null}}]}"#))
        #expect(mapper.unmatchedPathWarnings(lone.matches).isEmpty, "\(mapper.unmatchedPathWarnings(lone.matches))")
    }

    @Test func projectedReadingFindsTheSameMembers() throws {
        // Records parsed under the mapping's projection keep every member a path reads.
        let mapper = try GetMultipleDataTests().mapper()
        let reader = PageReader(mapper: mapper)
        var matches = PathMatches()
        for page in pages {
            let (_, read) = try reader.read(Array(page.utf8))
            matches.merge(read.matches)
        }
        #expect(mapper.unmatchedPathWarnings(matches).count == 3)
    }
}
