import SheetSyncCore
import SheetSyncStore
import SheetSyncTransform

/// What a pull run does for a job that skips unchanged records (`skip_unchanged`): the
/// guards' family of worksheets, what each page's transaction confirms first, and the
/// store's digests as the page reader asks for them (the rule is in
/// `WorksheetDatabase+Digests`).
extension PullRun {
    /// The job's worksheet and its direct children with their links, for the digest guards.
    static func digestFamily(_ pull: PullJob, worksheet: WorksheetDefinition, sheets: [String: WorksheetDefinition]) -> WorksheetDatabase.DigestFamily {
        WorksheetDatabase.DigestFamily(worksheet: worksheet, children: pull.children.compactMap { child in
            guard let sheet = sheets[child.worksheet] else { return nil }
            let links = worksheet.key.compactMap { key in child.fields.first { $0.isParentField(key) }.map { (column: $0.field, parentKey: key) } }
            return (sheet, links)
        })
    }

    /// What the page's transaction does first, for a job that skips unchanged records: a
    /// page skipped whole is confirmed (or, its digest gone, read record by record and
    /// written); records skipped one by one are confirmed (`confirmUnchanged`); the page's
    /// digest is handed to the sink, to store once the page is written.
    static func confirming(_ page: TransformedPage, children: [String],
                           sheets: [String: WorksheetDefinition]) -> (@Sendable (any PageWriter) throws -> Void)? {
        let (unchanged, whole) = (page.unchanged, page.whole)
        guard unchanged != nil || whole != nil else { return nil }
        return { sink in
            sink.page = whole?.digest
            if let whole, whole.skipped {
                if try sink.confirmUnchangedPage(children: children) { return }
                guard let read = try whole.remap?() else { return }
                sink.page = read.whole?.digest
                try sink.write(read.rows, children: Self.children(of: read, sheets: sheets), rejects: read.rejects)
                return
            }
            try confirmUnchanged(unchanged, sink, children: children, sheets: sheets)
        }
    }

    /// In the page's transaction: the records the reader skipped as unchanged are counted
    /// so if their digests are still stored; the others are mapped and written now.
    static func confirmUnchanged(_ unchanged: UnchangedRecords?, _ sink: any PageWriter, children: [String],
                                 sheets: [String: WorksheetDefinition]) throws {
        guard let unchanged else { return }
        let stale = try sink.confirmUnchanged((unchanged.keys, unchanged.digests), children: children)
        guard !stale.isEmpty else { return }
        let page = try unchanged.remap(stale)
        try sink.write(page.rows, children: Self.children(of: page, sheets: sheets), rejects: page.rejects)
    }
}

/// The store's digests of one worksheet, as the page reader asks for them.
struct WorksheetDigests: StoredDigests {
    let database: any WorksheetStore
    let worksheet: String

    func lookUp(_ keys: [[SQLValue]]) throws -> [StoredDigest?] {
        try database.storedDigests(keys: keys, worksheet: worksheet)
    }

    func page(_ digest: [UInt8]) throws -> PageDigest? {
        try database.storedPage(digest, worksheet: worksheet)
    }
}
