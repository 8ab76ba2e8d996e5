import SheetSyncCore

/// Reads one response body into rows, from bytes that arrive in chunks: a body held in
/// memory is one chunk, a body spilled to a file is read a megabyte at a time. Both go
/// the same way, so they agree byte for byte.
///
/// When the records path is a chain of members and no pagination path reads inside
/// the records (`PullJob.streamedRecordsChain`), the records array is split out of the bytes by
/// `RecordSplitter` and each record is parsed on its own; the document pagination looks
/// at is then the response without its records (`"data": []`). Otherwise the whole
/// tree is read and mapped at once.
///
/// Streamed records are parsed under the mapper's `recordProjection`: members nothing
/// maps are checked but not built. A batch with a reject is mapped again from full
/// trees, so that the reject quotes the record as the API sent it.
public struct PageReader: Sendable {
    public let mapper: GetMultipleData
    /// The member chain of `records`, when the records can be streamed; computed once.
    public let chain: [String]?
    /// What of each streamed record is parsed; nil for all of it.
    public let projection: JSONProjection?

    /// `projecting: false` parses every record in full (tests compare the two).
    public init(mapper: GetMultipleData, projecting: Bool = true) {
        self.mapper = mapper
        self.chain = mapper.job.streamedRecordsChain
        self.projection = projecting ? mapper.recordProjection : nil
    }

    /// What reading a page found besides its rows.
    public struct Outline: Sendable {
        /// The response, without its records when they were streamed.
        public var document: JSONValue
        public var recordCount = 0
        public var cursorMax: String?
        /// What the mapping's paths found in every batch of the page.
        public var matches = PathMatches()
    }

    /// A source of chunks: calls its argument with each chunk in order.
    public typealias Chunks = ((UnsafeBufferPointer<UInt8>) throws -> Void) throws -> Void

    /// Reads a body chunk by chunk, handing rows to `flush` in batches of `batchSize`
    /// records (the last batch may be smaller; a page without records flushes nothing).
    /// Errors are `PageReadError`s, except what `flush` or `chunks` throw, which pass through.
    ///
    /// `metadata` is the response's `ResponseMetadata` document, for `$response.…` fields.
    public func read(_ chunks: Chunks, metadata: JSONValue? = nil, batchSize: Int = 1000, stored: (any StoredDigests)? = nil,
                     flush: (TransformedPage) throws -> Void) throws -> Outline {
        guard let chain else { return try readTree(chunks, metadata: metadata, flush: flush) }
        // `flush` is only called while this function runs (the chunk source calls back in).
        return try withoutActuallyEscaping(flush) { flush in
            try stream(chunks, chain: chain, metadata: metadata, batchSize: batchSize, stored: stored, flush: flush)
        }
    }

    private func stream(_ chunks: Chunks, chain: [String], metadata: JSONValue?, batchSize: Int, stored: (any StoredDigests)?,
                        flush: @escaping (TransformedPage) throws -> Void) throws -> Outline {
        var splitter = RecordSplitter(path: chain)
        // Records are kept as sent and parsed when their batch is mapped (`map(_:metadata:stored:)`).
        var batch = RawRecords()
        var outline = Outline(document: .null)
        func flushBatch() throws {
            guard batch.count > 0 else { return }
            try flushPage(try map(batch, metadata: metadata, stored: stored), into: &outline, flush)
            batch.removeAll()
        }
        try chunks { chunk in
            try Self.parsing {
                try splitter.feed(chunk) { element in
                    batch.append(element)
                    if batch.count >= batchSize { try flushBatch() }
                }
            }
        }
        try Self.parsing {
            try splitter.finish()
            outline.document = try JSONReader.parse(splitter.skeleton)
        }
        // A duplicated member after the array would win in the tree; refuse the ambiguity.
        if splitter.arrayFound, mapper.job.records.value(in: outline.document) != .array([]) {
            throw PageReadError(.unexpectedResponse, "the records path '\(mapper.job.records.text)' appears more than once in the response; it is ambiguous which holds the records")
        }
        if splitter.arrayFound {
            try flushBatch()
        } else {
            let document = outline.document
            try flushPage(try mapper.transform(document, metadata: metadata), into: &outline, flush)
        }
        return outline
    }

    /// A body in memory: the whole page at once.
    ///
    /// A response without a body (only white space: a HEAD, a 204) is one record `{}`
    /// when the job reads `$response.…` — its row is built from the status and headers —
    /// and no records when it does not and the status is 204 (No Content); any other
    /// empty body is not JSON, an error as before.
    ///
    /// Errors are `PageReadError`s, except what `stored` throws (the store's own errors),
    /// which pass through as they are: a database that failed is not a page that is not JSON.
    public func read(_ body: [UInt8], metadata: JSONValue? = nil, stored: (any StoredDigests)? = nil) throws -> (document: JSONValue, page: TransformedPage) {
        if body.allSatisfy(Self.isWhiteSpace), let metadata,
           mapper.job.readsResponseMetadata || ResponseMetadata.status(in: metadata) == 204 {
            let records = mapper.job.readsResponseMetadata ? [JSONValue.object(JSONObject())] : []
            return (.object(JSONObject()), try mapper.transform(records: records, metadata: metadata))
        }
        // A job that skips unchanged records digests the whole page first: a page stored
        // whole is not read at all (see `WorksheetDatabase+Digests`). What is stored is a
        // hint (another tool may have written it): an outline that is not JSON or a negative
        // count, and the page is read as if nothing were stored.
        let pageDigest = mapper.digester?.forResponse(mapper.job.readsResponseMetadata ? metadata : nil).pageDigest(body)
        if let pageDigest, let stored, let known = try stored.page(pageDigest), known.records >= 0,
           let document = try? JSONReader.parse(Array(known.outline.utf8)) {
            var skipped = TransformedPage(rows: RowBatch(columns: mapper.columns), recordCount: known.records)
            skipped.cursorMax = known.cursor
            let reader = self
            skipped.whole = WholePage(digest: known, skipped: true) {
                try reader.read(body, metadata: metadata, stored: nil).page
            }
            return (document, skipped)
        }
        var page: TransformedPage?
        let outline = try read({ each in try body.withUnsafeBufferPointer { try each($0) } }, metadata: metadata, batchSize: .max, stored: stored) { page = $0 }
        var result = page ?? TransformedPage(rows: RowBatch(columns: mapper.columns))
        if let pageDigest {
            result.whole = WholePage(digest: PageDigest(digest: pageDigest, records: outline.recordCount, cursor: outline.cursorMax,
                                                        outline: outline.document.jsonText), skipped: false)
        }
        return (outline.document, result)
    }

    // MARK: - Helpers

    /// JSON's white space (RFC 8259): what an empty body may hold.
    public static func isWhiteSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    /// The whole tree, for records paths that cannot be streamed.
    private func readTree(_ chunks: Chunks, metadata: JSONValue?, flush: (TransformedPage) throws -> Void) throws -> Outline {
        var bytes: [UInt8] = []
        try chunks { bytes.append(contentsOf: $0) }
        var outline = Outline(document: .null)
        try Self.parsing { outline.document = try JSONReader.parse(bytes) }
        let document = outline.document
        try flushPage(try mapper.transform(document, metadata: metadata), into: &outline, flush)
        return outline
    }

    private func flushPage(_ page: TransformedPage, into outline: inout Outline, _ flush: (TransformedPage) throws -> Void) throws {
        outline.recordCount += page.recordCount
        outline.cursorMax = CursorValue.max(outline.cursorMax, page.cursorMax, as: mapper.cursorType)
        outline.matches.merge(page.matches)
        try flush(page)
    }

    /// Runs JSON parsing, turning the reader's errors into `.invalidJSON` (keeping them
    /// as the cause).
    static func parsing(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as CoreError {
            throw PageReadError(.invalidJSON, error.message, underlying: error)
        }
    }
}
