import SheetSyncCore

/// The digest of a record as the API sent it, for skipping records that did not change
/// since the last sync (issue 17; the rule that keeps it safe is in the store,
/// `WorksheetDatabase+Digests`).
///
/// The bytes hashed are a fingerprint of the job (its name, mapping with rendered field
/// templates, write mode and the worksheets' definitions: a changed mapping never matches
/// an old digest), the response's status and headers when the job maps `$response.…`, and
/// the record's own bytes. The same bytes map to the same row and child rows, so a record
/// whose digest is stored for its row need not be parsed at all. The hash function comes
/// from the caller (SHA-256 in the runner): this module stays free of dependencies.
public struct RecordDigester: Sendable {
    let seed: [UInt8]
    let hash: @Sendable ([UInt8]) -> [UInt8]

    /// `seed` describes the job; it is hashed once, and its hash starts every record's bytes.
    init(seed: String, hash: @escaping @Sendable ([UInt8]) -> [UInt8]) {
        self.seed = hash(Array(seed.utf8))
        self.hash = hash
    }

    /// This digester for one response: `metadata` (what `$response.…` reads) joins the seed.
    func forResponse(_ metadata: JSONValue?) -> RecordDigester {
        guard let metadata else { return self }
        return RecordDigester(seed: seed, metadata: metadata, hash: hash)
    }

    private init(seed: [UInt8], metadata: JSONValue, hash: @escaping @Sendable ([UInt8]) -> [UInt8]) {
        self.seed = hash(seed + Array(metadata.jsonText.utf8))
        self.hash = hash
    }

    /// The digest of a whole page's bytes (the store keeps these apart from records').
    func pageDigest(_ body: [UInt8]) -> [UInt8] {
        hash(seed + Array("page\n".utf8) + body)
    }

    /// The digest of one record's bytes.
    func digest(_ record: UnsafeBufferPointer<UInt8>, buffer: inout [UInt8]) -> [UInt8] {
        buffer.removeAll(keepingCapacity: true)
        buffer.append(contentsOf: seed)
        buffer.append(contentsOf: record)
        return hash(buffer)
    }
}

extension GetMultipleData {
    /// Whether records of this job are skipped by digest: it asks for it
    /// (`skip_unchanged: true`) and can (`PullJob.canSkipUnchangedRecords`).
    public var canSkipUnchangedRecords: Bool {
        job.skipUnchanged && job.canSkipUnchangedRecords
    }

    /// This mapper, with a digester for its records (when `canSkipUnchangedRecords`).
    public func digesting(with hash: @escaping @Sendable ([UInt8]) -> [UInt8]) -> GetMultipleData {
        guard canSkipUnchangedRecords else { return self }
        var copy = self
        let sheets = [worksheet] + childPlans.map(\.worksheet)
        copy.digester = RecordDigester(seed: "sheetsync-record-digest-2\n\(jobName)\n\(job.fields)\n\(job.children)\n\(job.write)\n\(sheets)\n", hash: hash)
        return copy
    }
}
