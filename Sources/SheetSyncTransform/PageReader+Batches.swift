import SheetSyncCore

/// A batch of records as the API sent them, one after the other.
struct RawRecords: Sendable {
    private(set) var bytes: [UInt8] = []
    private(set) var ends: [Int] = []

    var count: Int { ends.count }

    mutating func append(_ record: UnsafeBufferPointer<UInt8>) {
        bytes.append(contentsOf: record)
        ends.append(bytes.count)
    }

    func withRecord<T>(_ position: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> T) rethrows -> T {
        let start = position == 0 ? 0 : ends[position - 1]
        return try bytes.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[start..<ends[position]])) }
    }

    mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        ends.removeAll(keepingCapacity: true)
    }
}

/// What the store holds for a row whose record may be skipped (`RecordDigest`).
public typealias StoredDigest = RecordDigest

/// What a page reader asks of the store to skip unchanged records. Answers are a hint,
/// read outside the page's transaction: the store confirms every skip when it writes the
/// page (`UnchangedRecords`).
public protocol StoredDigests: Sendable {
    /// What is stored for each row key (nil: nothing).
    func lookUp(_ keys: [[SQLValue]]) throws -> [StoredDigest?]
    /// What is stored for the page whose digest is `digest` (nil: nothing).
    func page(_ digest: [UInt8]) throws -> PageDigest?
}

extension PageReader {
    /// Rows for a batch of records. With a digester (`skip_unchanged`), a record whose
    /// digest `stored` holds is not parsed: it goes to the page's `unchanged` records,
    /// unless a record mapped in the same batch has its key (both are then mapped, in
    /// order, so the later one wins as it would without skipping).
    func map(_ batch: RawRecords, metadata: JSONValue?, stored: (any StoredDigests)?) throws -> TransformedPage {
        let all = Array(0..<batch.count)
        guard let digester = mapper.digester?.forResponse(mapper.job.readsResponseMetadata ? metadata : nil) else {
            return try map(batch, positions: all, metadata: metadata, digests: nil)
        }
        var buffer: [UInt8] = []
        let digests = all.map { position in batch.withRecord(position) { digester.digest($0, buffer: &buffer) } }
        var skipped = Set<Int>()
        var found: [StoredDigest?] = []
        var keys: [[SQLValue]?] = []
        if let stored {
            // Each record's key, read alone (no other member is built), then what is stored
            // for it. A batch whose first records are all unknown is taken for new records
            // (a first load): not looked up one by one; those missed so are only compared.
            func key(_ position: Int) -> [SQLValue]? { batch.withRecord(position) { try? mapper.key(of: $0, metadata: metadata) } }
            let probe = Array(all.prefix(8)).compactMap(key)
            let probed = try stored.lookUp(probe)
            if probed.contains(where: { $0 != nil }) {
                keys = all.map(key)
                let known = all.filter { keys[$0] != nil }
                let answers = try stored.lookUp(known.map { keys[$0]! })
                found = Array(repeating: nil, count: all.count)
                for (position, answer) in zip(known, answers) { found[position] = answer }
                skipped = Set(all.filter { found[$0]?.digest == digests[$0] })
            }
        }
        // A skipped record and a mapped one with the same key: both are mapped, in order.
        let mappedKeys = Set(all.filter { !skipped.contains($0) }.compactMap { keys.isEmpty ? nil : keys[$0] })
        skipped = skipped.filter { !mappedKeys.contains(keys[$0]!) }
        var page = try map(batch, positions: all.filter { !skipped.contains($0) }, metadata: metadata, digests: digests)
        page.recordCount = batch.count
        let hits = all.filter(skipped.contains)
        guard !hits.isEmpty else { return page }
        for hit in hits {
            page.cursorMax = CursorValue.max(page.cursorMax, found[hit]!.cursor, as: mapper.cursorType)
        }
        let reader = self
        page.unchanged = UnchangedRecords(keys: hits.map { keys[$0]! }, digests: hits.map { digests[$0] }) { positions in
            try reader.map(batch, positions: positions.map { hits[$0] }, metadata: metadata, digests: digests)
        }
        return page
    }

    /// Rows for the records at `positions`, parsed under the projection; when one is
    /// rejected, mapped again from full trees so that rejects quote records as sent.
    private func map(_ batch: RawRecords, positions: [Int], metadata: JSONValue?, digests: [[UInt8]]?) throws -> TransformedPage {
        let subset = digests.map { digests in positions.map { digests[$0] } }
        var records: [JSONValue] = []
        records.reserveCapacity(positions.count)
        try Self.parsing {
            for position in positions {
                records.append(try batch.withRecord(position) { record in
                    if let projection { return try JSONReader.parse(record, projection: projection) }
                    return try JSONReader.parse(record)
                })
            }
        }
        var page = try mapper.transform(records: records, metadata: metadata, digests: subset)
        if projection != nil, !page.rejects.isEmpty {
            try Self.parsing {
                records = try positions.map { position in try batch.withRecord(position) { try JSONReader.parse($0) } }
            }
            page = try mapper.transform(records: records, metadata: metadata, digests: subset)
        }
        return page
    }
}
