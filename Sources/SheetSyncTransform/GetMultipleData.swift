import SheetSyncCore

/// "Get Multiple Data": turns a JSON response into worksheet rows.
///
/// - `records` selects what becomes rows: an array gives one row per element, a
///   single object one row, `null` or an empty array none; anything else is an
///   error naming the path and what was found.
/// - Each field takes the value at its JSON path (a missing member is NULL) and is
///   converted to the field's type. A record with a value that cannot be converted,
///   or without a key, becomes a `Reject` and the rest go on.
/// - `children` turn nested arrays of each record into rows of child worksheets, and
///   their own `children` arrays of each child record, to any depth. Each level links
///   to the row above through `$parent.<field>` mappings: the parent row's field
///   values, after conversion.
/// - The incremental cursor is the largest among the records that became rows,
///   compared in the type of the field mapped from the cursor's path.
public struct GetMultipleData: Sendable {
    public let jobName: String
    public let job: PullJob
    public let worksheet: WorksheetDefinition
    private let fields: FieldMapper
    /// Every child level, each before its own children (the order of a page's `ChildRows`).
    let childPlans: [ChildPlan]
    /// The positions in `childPlans` of the job's own children.
    private let topLevel: [Int]
    private let key: [String]
    /// The type of the field mapped from the incremental cursor's path; nil when no
    /// field is (the values are then compared as they look).
    public let cursorType: FieldType?
    /// Masks secrets in the response excerpts that error messages quote.
    public var redactor = Redactor(secrets: [])
    /// What of a record the mapping reads (fields, cursor, children and their fields,
    /// `$parent_json`): records may be parsed under it (`PageReader`). Nil when the
    /// whole record is needed (per-record steps read any member of it).
    public let recordProjection: JSONProjection?
    /// The key fields' mappings alone, in key order, and what of a record they read: a
    /// record's key without mapping the rest (`key(of:metadata:)`).
    private let keyFields: FieldMapper
    private let keyProjection: JSONProjection
    /// Set by `digesting(with:)`: the page reader digests every record (see `UnchangedRecords`).
    public internal(set) var digester: RecordDigester?

    struct ChildPlan: Sendable {
        var mapping: ChildMapping
        var worksheet: WorksheetDefinition
        var fields: FieldMapper
        var linkColumns: [String]
        /// For each link column: its position in the child's row and the position of the
        /// parent key field it holds in the parent's row.
        var links: [(child: Int, parent: Int)]
        var keyIndexes: [Int]
        /// The level whose rows are the parents; nil for the job's rows.
        var parent: Int?
        var children: [Int] = []

        /// The parent's key as the child stores it (converted to the link fields' types);
        /// nil when it does not convert (every child of that parent is rejected then).
        func link(from parentRow: [SQLValue]) -> [SQLValue]? {
            var key: [SQLValue] = []
            for link in links {
                guard let value = try? fields.fields[link.child].type.convert(stored: parentRow[link.parent]) else { return nil }
                key.append(value)
            }
            return key
        }
    }

    /// - Parameter worksheets: every worksheet by name, for the job's and its children's.
    public init(jobName: String, job: PullJob, worksheet: WorksheetDefinition, worksheets: [String: WorksheetDefinition]) throws(PageReadError) {
        self.jobName = jobName
        self.job = job
        self.worksheet = worksheet
        self.key = worksheet.key
        self.fields = try FieldMapper(job.fields, in: worksheet)
        var plans: [ChildPlan] = []
        topLevel = try Self.plan(job.children, parent: nil, parentSheet: worksheet, parentColumns: fields.columns, worksheets: worksheets, into: &plans)
        self.childPlans = plans
        let keyMappings = worksheet.key.compactMap { name in job.fields.first { $0.field == name } }
        keyFields = try FieldMapper(keyMappings, in: worksheet)
        keyProjection = Self.projection(fields: keyMappings, cursor: nil, children: []) ?? .whole
        recordProjection = job.perRecordSteps.isEmpty ? Self.projection(fields: job.fields, cursor: job.incremental?.cursor, children: job.children) : nil
        if let cursor = job.incremental?.cursor, cursor.root == .current,
           let field = job.fields.first(where: { $0.path?.root == .current && $0.path?.components == cursor.components }) {
            cursorType = worksheet.field(named: field.field)?.type
        } else {
            cursorType = nil
        }
    }

    /// What a record mapped by `fields` and `children` is read for; nil when that is all of it.
    static func projection(fields: [FieldMapping], cursor: JSONPath?, children: [ChildMapping]) -> JSONProjection? {
        var record = JSONProjection()
        for path in fields.compactMap(\.path) + [cursor].compactMap({ $0 }) where path.root == .current {
            record.add(path.components[...])
        }
        for child in children {
            guard child.records.root == .current, let each = projection(fields: child.fields, cursor: nil, children: child.children) else { return nil }
            record.add(records: child.records.components[...], each: each)
            for path in child.fields.compactMap(\.path) where path.root == .parentJSON {
                record.add(path.components[...])
            }
        }
        return record.keepsWhole ? nil : record
    }

    /// Adds a plan for each of `children` (and, after each, its own children) to `plans`;
    /// returns their positions.
    private static func plan(_ children: [ChildMapping], parent: Int?, parentSheet: WorksheetDefinition, parentColumns: [String],
                             worksheets: [String: WorksheetDefinition], into plans: inout [ChildPlan]) throws(PageReadError) -> [Int] {
        var positions: [Int] = []
        for child in children {
            guard let childSheet = worksheets[child.worksheet] else {
                throw PageReadError(.invalidJob, "child worksheet '\(child.worksheet)' is not defined in schema/")
            }
            let fields = try FieldMapper(child.fields, in: childSheet, parent: (parentSheet.name, parentColumns))
            var linkColumns: [String] = []
            var links: [(child: Int, parent: Int)] = []
            for keyField in parentSheet.key {
                guard let childIndex = child.fields.firstIndex(where: { $0.isParentField(keyField) }),
                      let parentIndex = parentColumns.firstIndex(of: keyField) else { continue }
                linkColumns.append(child.fields[childIndex].field)
                links.append((childIndex, parentIndex))
            }
            guard links.count == parentSheet.key.count else {
                let example = parentSheet.key.map { "\(parentSheet.name)_\($0): $parent.\($0)" }.joined(separator: ", ")
                throw PageReadError(.invalidJob, "children in '\(child.worksheet)' must map every key field of '\(parentSheet.name)' from $parent, such as '\(example)'")
            }
            let keyIndexes = childSheet.key.compactMap { fields.columns.firstIndex(of: $0) }
            let position = plans.count
            plans.append(ChildPlan(mapping: child, worksheet: childSheet, fields: fields, linkColumns: linkColumns, links: links,
                                   keyIndexes: keyIndexes, parent: parent))
            plans[position].children = try plan(child.children, parent: position, parentSheet: childSheet, parentColumns: fields.columns,
                                                worksheets: worksheets, into: &plans)
            positions.append(position)
        }
        return positions
    }

    /// The row key a record's bytes make, converted as its row's would be; nil when a key
    /// field is missing. Throws what mapping the record would (not JSON, a key that does
    /// not convert).
    public func key(of record: UnsafeBufferPointer<UInt8>, metadata: JSONValue?) throws -> [SQLValue]? {
        let key = try keyFields.row(from: try JSONReader.parse(record, projection: keyProjection), response: metadata)
        return key.count == worksheet.key.count && !key.contains(.null) ? key : nil
    }

    /// The child worksheets, in the order of a page's `children`.
    public var childWorksheets: [String] { childPlans.map(\.worksheet.name) }

    /// The columns of the job's rows, in order.
    public var columns: [String] { fields.columns }

    /// The records `records` selects in `response`.
    public func records(in response: JSONValue) throws(PageReadError) -> [JSONValue] {
        let selected = job.records.select(in: response)
        if !job.records.isSingular {
            return selected.flatMap { value -> [JSONValue] in
                if case .array(let elements) = value { return elements }
                return [value]
            }
        }
        guard let value = selected.first else {
            var found = "nothing"
            if case .object(let object) = response {
                let keys = object.members.prefix(8).map { "'\($0.key)'" }.joined(separator: ", ")
                found = "nothing (the response is an object with members \(keys.isEmpty ? "none" : keys))"
            } else {
                found = "nothing (the response is \(article(response.kindName)) \(response.kindName))"
            }
            throw PageReadError(.unexpectedResponse, "records path '\(job.records.text)' found \(redactor.redact(found)); check 'records' in the job against a sample ('sheetsync test JOB')")
        }
        switch value {
        case .array(let elements): return elements
        case .object: return [value]
        case .null: return []
        default:
            throw PageReadError(.unexpectedResponse, "records path '\(job.records.text)' must select an array or an object, found \(article(value.kindName)) \(value.kindName) (\(redactor.excerpt(value.jsonText, limit: 40)))")
        }
    }

    /// Rows, child rows and rejects for one response page; `metadata` is the
    /// `ResponseMetadata` document of the response, for `$response.…` fields.
    public func transform(_ response: JSONValue, metadata: JSONValue? = nil) throws(PageReadError) -> TransformedPage {
        try transform(records: try records(in: response), metadata: metadata)
    }

    /// Rows, child rows and rejects for records already selected from a response.
    ///
    /// `digests`, when given, holds each record's digest: each row gets its record's in
    /// `rows.digests` with its cursor value and child row counts (to be stored with the
    /// row); a record with a rejected child gets an empty digest.
    public func transform(records: [JSONValue], metadata: JSONValue? = nil, digests: [[UInt8]]? = nil) throws(PageReadError) -> TransformedPage {
        var page = TransformedPage(rows: RowBatch(columns: fields.columns), recordCount: records.count)
        var childBatches = childPlans.map { plan in
            ChildRows(worksheet: plan.worksheet.name, linkColumns: plan.linkColumns, parentKeys: [],
                      rows: RowBatch(columns: plan.fields.columns), parent: plan.parent, write: plan.mapping.write)
        }
        let keyIndexes = key.compactMap { name in fields.columns.firstIndex(of: name) }
        let cursorPath = job.incremental?.cursor
        var matches = PathMatches(fieldCounts: [fields.fields.count] + childPlans.map(\.fields.fields.count))
        matches.mapped[0] = records.count
        for (position, record) in records.enumerated() {
            let row: [SQLValue]
            do {
                row = try Self.map(record, response: metadata, fields: fields, key: key, keyIndexes: keyIndexes, found: &matches.found[0])
            } catch {
                page.rejects.append(Reject(worksheet: worksheet.name, reason: error.message, raw: record.jsonText))
                continue
            }
            page.rows.rows.append(row)
            page.sourceRecords.append(record)
            // Only a record that becomes a row moves the cursor: a rejected one is fetched again.
            let cursor = cursorPath.flatMap { CursorValue.text($0.value(in: record)) }
            if cursorPath != nil {
                page.cursorMax = CursorValue.max(page.cursorMax, cursor, as: cursorType)
            }
            let rejectCount = page.rejects.count
            let childCounts = digests == nil ? [] : childBatches.map(\.rows.rows.count)
            addChildren(of: record, row: row, levels: topLevel, metadata: metadata, to: &childBatches, rejects: &page.rejects, matches: &matches)
            if let digests {
                page.rows.digests.append(RecordDigest(digest: page.rejects.count == rejectCount ? digests[position] : [], cursor: cursor,
                                                      childRows: zip(childBatches, childCounts).map { $0.rows.rows.count - $1 }))
            }
        }
        page.children = childBatches
        page.matches = matches
        return page
    }

    /// Maps the child records of one parent record at each of `levels`, then theirs.
    private func addChildren(of record: JSONValue, row: [SQLValue], levels: [Int], metadata: JSONValue?, to batches: inout [ChildRows],
                             rejects: inout [Reject], matches: inout PathMatches) {
        for level in levels {
            let plan = childPlans[level]
            if let link = plan.link(from: row) { batches[level].parentKeys.append(link) }
            for item in childRecords(plan.mapping.records, in: record) {
                let childRow: [SQLValue]
                matches.mapped[level + 1] += 1
                do {
                    childRow = try Self.map(item, parent: record, parentRow: row, response: metadata, fields: plan.fields, key: plan.worksheet.key,
                                            keyIndexes: plan.keyIndexes, found: &matches.found[level + 1])
                } catch {
                    rejects.append(Reject(worksheet: plan.worksheet.name, reason: error.message, raw: item.jsonText))
                    continue
                }
                batches[level].rows.rows.append(childRow)
                if !plan.children.isEmpty {
                    addChildren(of: item, row: childRow, levels: plan.children, metadata: metadata, to: &batches, rejects: &rejects, matches: &matches)
                }
            }
        }
    }

    private func childRecords(_ path: JSONPath, in record: JSONValue) -> [JSONValue] {
        if path.isSingular {
            switch path.value(in: record) {
            case .array(let elements)?: return elements
            case .null?, nil: return []
            case let value?: return [value]
            }
        }
        return path.select(in: record).flatMap { value -> [JSONValue] in
            switch value {
            case .array(let elements): elements
            case .null: []
            default: [value]
            }
        }
    }

    /// A row of `fields`; a value that does not convert, or a key field that is NULL,
    /// rejects the record (`.conversionFailed`).
    private static func map(_ record: JSONValue, parent: JSONValue? = nil, parentRow: [SQLValue]? = nil, response: JSONValue?,
                            fields: FieldMapper, key: [String], keyIndexes: [Int], found: inout [Bool]) throws(PageReadError) -> [SQLValue] {
        let row = try fields.row(from: record, parent: parent, parentRow: parentRow, response: response, found: &found)
        for (position, index) in keyIndexes.enumerated() where row[index] == .null {
            throw PageReadError(.conversionFailed, "key field '\(key[position])' is missing (\(fields.fields[index].mapping.sourceText) found nothing)")
        }
        return row
    }
}

extension GetMultipleData {
    /// One warning per field whose path (`$.…`) found nothing in any of the records mapped
    /// (`matches`, gathered over a run): every row got NULL there, which is what a typo in
    /// the path does. Key fields are left out (a missing key rejects the record already).
    public func unmatchedPathWarnings(_ matches: PathMatches) -> [String] {
        guard matches.found.count == childPlans.count + 1 else { return [] }
        let levels = [(worksheet, fields)] + childPlans.map { ($0.worksheet, $0.fields) }
        var warnings: [String] = []
        for (level, (sheet, mapper)) in levels.enumerated() where matches.mapped[level] > 0 {
            for index in mapper.recordPathFields where !matches.found[level][index] && !sheet.key.contains(mapper.columns[index]) {
                let records = matches.mapped[level]
                warnings.append("field '\(mapper.columns[index])' of '\(sheet.name)' (\(mapper.fields[index].mapping.sourceText)) found nothing in \(records == 1 ? "the record" : "any of the \(records) records") mapped: every row got NULL there. Check the path against a response ('sheetsync test \(jobName)'); if the API leaves the member out when it is empty, this is expected")
            }
        }
        return warnings
    }
}

private func article(_ word: String) -> String {
    ["a", "e", "i", "o", "u"].contains(word.prefix(1)) ? "an" : "a"
}
