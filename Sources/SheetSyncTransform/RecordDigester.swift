import SheetSyncCore

/// The digest of what one record becomes — its row and its child rows, as mapped and
/// typed — for skipping records that did not change since the last sync (issue 17).
///
/// The bytes hashed are a fingerprint of the job (its name, mapping, write mode and the
/// worksheets' definitions: a changed mapping never matches an old digest) followed by
/// each value with a tag for its type. The hash function comes from the caller (SHA-256
/// in the runner): this module stays free of dependencies.
///
/// A record that rejected a child gets no digest (an empty one): it is written the usual
/// way every time, so its rejects are recorded every time.
public struct RecordDigester: Sendable {
    let seed: [UInt8]
    let hash: @Sendable ([UInt8]) -> [UInt8]

    /// `seed` describes the job; it is hashed once, and its hash starts every record's bytes.
    init(seed: String, hash: @escaping @Sendable ([UInt8]) -> [UInt8]) {
        self.seed = hash(Array(seed.utf8))
        self.hash = hash
    }

    /// The digest of `row` and its children's rows, level by level.
    func digest(row: [SQLValue], children: [ArraySlice<[SQLValue]>], buffer: inout [UInt8]) -> [UInt8] {
        buffer.removeAll(keepingCapacity: true)
        buffer.append(contentsOf: seed)
        Self.append(row, to: &buffer)
        for level in children {
            buffer.append(0xFE)
            Self.append(UInt64(level.count), to: &buffer)
            for child in level { Self.append(child, to: &buffer) }
        }
        return hash(buffer)
    }

    static func append(_ row: [SQLValue], to buffer: inout [UInt8]) {
        buffer.append(0xFF)
        for value in row {
            switch value {
            case .null:
                buffer.append(0)
            case .integer(let number):
                buffer.append(1)
                append(UInt64(bitPattern: number), to: &buffer)
            case .real(let number):
                buffer.append(2)
                append(number.bitPattern, to: &buffer)
            case .text(let text):
                buffer.append(3)
                var text = text
                text.withUTF8 { bytes in
                    append(UInt64(bytes.count), to: &buffer)
                    buffer.append(contentsOf: bytes)
                }
            case .blob(let bytes):
                buffer.append(4)
                append(UInt64(bytes.count), to: &buffer)
                buffer.append(contentsOf: bytes)
            }
        }
    }

    static func append(_ number: UInt64, to buffer: inout [UInt8]) {
        withUnsafeBytes(of: number.littleEndian) { buffer.append(contentsOf: $0) }
    }
}

extension GetMultipleData {
    /// Whether records of this job are skipped by digest: it asks for it
    /// (`skip_unchanged: true`), its children have no
    /// children of their own (the store guards one level of children against other
    /// writers) and no per-record step adds fields after the mapping.
    public var canSkipUnchangedRecords: Bool {
        job.skipUnchanged && job.perRecordSteps.isEmpty && job.children.allSatisfy(\.children.isEmpty)
    }

    /// This mapper, computing a digest for every record (when `canSkipUnchangedRecords`).
    public func digesting(with hash: @escaping @Sendable ([UInt8]) -> [UInt8]) -> GetMultipleData {
        guard canSkipUnchangedRecords else { return self }
        var copy = self
        let sheets = [worksheet] + childPlans.map(\.worksheet)
        copy.digester = RecordDigester(seed: "sheetsync-record-digest-1\n\(jobName)\n\(job.fields)\n\(job.children)\n\(job.write)\n\(sheets)\n", hash: hash)
        return copy
    }
}
