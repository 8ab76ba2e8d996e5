import Testing
import SheetSyncCore
@testable import SheetSyncTransform

/// Whole pages skipped by digest (`skip_unchanged`, issue 17): a page whose digest the store
/// holds is not read, and comes out as its record count, cursor and outline as stored; read
/// record by record (`remap`) it gives the rows a first read gives.
struct PageDigestTests {
    /// A store that holds pages only (no record digests), counting what it is asked.
    final class Pages: StoredDigests, @unchecked Sendable {
        var pages: [[UInt8]: PageDigest] = [:]
        var pageLookups = 0
        func lookUp(_ keys: [[SQLValue]]) throws -> [StoredDigest?] { keys.map { _ in nil } }
        func page(_ digest: [UInt8]) throws -> PageDigest? {
            pageLookups += 1
            return pages[digest]
        }
    }

    func reader() throws -> PageReader {
        var job = try GetMultipleDataTests().mapper().job
        job.skipUnchanged = true
        let mapper = try GetMultipleData(jobName: "j", job: job, worksheet: GetMultipleDataTests.orders,
                                         worksheets: ["orders": GetMultipleDataTests.orders, "items": GetMultipleDataTests.items])
        // A toy hash (the runner uses SHA-256): enough to tell bodies apart here.
        return PageReader(mapper: mapper.digesting { bytes in
            var hash: UInt64 = 14_695_981_039_346_656_037
            for byte in bytes { hash = (hash ^ UInt64(byte)) &* 1_099_511_628_211 }
            return withUnsafeBytes(of: hash) { Array($0) }
        })
    }

    static let body = Array(#"{"data": [{"id": "o-1", "amount": {"value": "1.50"}, "items": [{"sku": "A", "quantity": 2}]}, {"id": "o-2", "amount": {"value": 3}}], "has_more": true}"#.utf8)

    @Test func aStoredPageIsNotReadAndItsRemapGivesTheRowsOfAFirstRead() throws {
        let reader = try reader()
        let store = Pages()
        let first = try reader.read(Self.body, stored: store)
        #expect(store.pageLookups == 1)
        let whole = try #require(first.page.whole)
        #expect(!whole.skipped)
        #expect(whole.digest.records == 2)
        #expect(whole.digest.outline == #"{"data":[],"has_more":true}"#)
        #expect(first.page.rows.rows.count == 2)
        #expect(first.page.rows.digests.allSatisfy { !$0.digest.isEmpty })

        store.pages[whole.digest.digest] = whole.digest
        let second = try reader.read(Self.body, stored: store)
        let skipped = try #require(second.page.whole)
        #expect(skipped.skipped)
        #expect(second.page.rows.rows.isEmpty)
        #expect(second.page.children.isEmpty)
        #expect(second.page.recordCount == 2)
        #expect(second.document == first.document)
        let remapped = try #require(try skipped.remap?())
        #expect(remapped.rows == first.page.rows)
        #expect(remapped.children.map(\.rows) == first.page.children.map(\.rows))
        #expect(remapped.whole?.digest == whole.digest)

        // Another body (one byte) is another page: read in full.
        let third = try? reader.read(Array(#"{"data": [{"id": "o-1", "amount": {"value": "1.50"}, "items": [{"sku": "A", "quantity": 2}]}, {"id": "o-2", "amount": {"value": 3}}], "has_more": false}"#.utf8), stored: store)
        #expect(third?.page.whole?.skipped == false)
        #expect(third?.page.rows.rows.count == 2)
    }

    @Test func aJobThatDoesNotSkipDigestsNoPage() throws {
        let mapper = try GetMultipleDataTests().mapper()
        let store = Pages()
        let read = try PageReader(mapper: mapper).read(Self.body, stored: store)
        #expect(read.page.whole == nil)
        #expect(store.pageLookups == 0)
    }

    struct StoreDown: Error {}

    /// A store that fails: its error passes through as it is (it was reported as a body that
    /// is not JSON).
    final class FailingStore: StoredDigests, @unchecked Sendable {
        func lookUp(_ keys: [[SQLValue]]) throws -> [StoredDigest?] { throw StoreDown() }
        func page(_ digest: [UInt8]) throws -> PageDigest? { throw StoreDown() }
    }

    @Test func theStoresErrorsAreNotTakenForBadJSON() throws {
        #expect(throws: StoreDown.self) { try reader().read(Self.body, stored: FailingStore()) }
    }

    /// What is stored is a hint: an outline that is not JSON or a negative count, and the
    /// page is read as if nothing were stored.
    @Test(arguments: [("not json", 2), (#"{"data":[]}"#, -1)])
    func aBrokenStoredPageIsReadAfterAll(outline: String, records: Int) throws {
        let reader = try reader()
        let store = Pages()
        let digest = try #require(try reader.read(Self.body, stored: store).page.whole?.digest.digest)
        store.pages[digest] = PageDigest(digest: digest, records: records, cursor: nil, outline: outline)
        let read = try reader.read(Self.body, stored: store)
        #expect(read.page.whole?.skipped == false)
        #expect(read.page.rows.rows.count == 2)
    }
}
