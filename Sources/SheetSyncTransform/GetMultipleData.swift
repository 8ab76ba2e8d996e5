import SheetSyncCore

/// "Get Multiple Data": turns a JSON response into worksheet rows.
///
/// - `records` selects what becomes rows: an array gives one row per element, a
///   single object one row, `null` or an empty array none; anything else is an
///   error naming the path and what was found.
/// - Each field takes the value at its JSON path (a missing member is NULL) and is
///   converted to the field's type. A record with a value that cannot be converted,
///   or without a key, becomes a `Reject` and the rest go on.
/// - `children` turn nested arrays of each record into rows of child worksheets,
///   linked to the parent through `$parent.<key>` mappings.
public struct GetMultipleData: Sendable {
    public let jobName: String
    public let job: PullJob
    public let worksheet: WorksheetDefinition
    private let fields: FieldMapper
    private let childPlans: [ChildPlan]
    private let key: [String]
    /// Masks secrets in the response excerpts that error messages quote.
    public var redactor = Redactor(secrets: [])

    struct ChildPlan: Sendable {
        var mapping: ChildMapping
        var worksheet: WorksheetDefinition
        var fields: FieldMapper
        var linkColumns: [String]
    }

    /// - Parameter worksheets: every worksheet by name, for the job's and its children's.
    public init(jobName: String, job: PullJob, worksheet: WorksheetDefinition, worksheets: [String: WorksheetDefinition]) throws(PageReadError) {
        self.jobName = jobName
        self.job = job
        self.worksheet = worksheet
        self.key = worksheet.key
        self.fields = try FieldMapper(job.fields, in: worksheet)
        var plans: [ChildPlan] = []
        for child in job.children {
            guard let childSheet = worksheets[child.worksheet] else {
                throw PageReadError(.invalidJob, "child worksheet '\(child.worksheet)' is not defined in schema/")
            }
            let links = worksheet.key.compactMap { keyField in
                child.fields.first { $0.path.root == .parent && $0.path.components == [.member(keyField)] }?.field
            }
            guard links.count == worksheet.key.count else {
                let example = worksheet.key.map { "\(worksheet.name)_\($0): $parent.\($0)" }.joined(separator: ", ")
                throw PageReadError(.invalidJob, "children in '\(child.worksheet)' must map every key field of '\(worksheet.name)' from $parent, such as '\(example)'")
            }
            plans.append(ChildPlan(mapping: child, worksheet: childSheet, fields: try FieldMapper(child.fields, in: childSheet), linkColumns: links))
        }
        self.childPlans = plans
    }

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

    /// Rows, child rows and rejects for one response page.
    public func transform(_ response: JSONValue) throws(PageReadError) -> TransformedPage {
        try transform(records: try records(in: response))
    }

    /// Rows, child rows and rejects for records already selected from a response.
    public func transform(records: [JSONValue]) throws(PageReadError) -> TransformedPage {
        var page = TransformedPage(rows: RowBatch(columns: fields.columns), recordCount: records.count)
        var childBatches = childPlans.map { plan in
            ChildRows(worksheet: plan.worksheet.name, linkColumns: plan.linkColumns, parentKeys: [],
                      rows: RowBatch(columns: plan.fields.columns))
        }
        let keyIndexes = key.compactMap { name in fields.columns.firstIndex(of: name) }
        let cursorPath = job.incremental?.cursor
        let childKeyIndexes = childPlans.map { plan in
            plan.worksheet.key.compactMap { name in plan.fields.columns.firstIndex(of: name) }
        }
        for record in records {
            if let cursorPath {
                page.cursorMax = CursorValue.max(page.cursorMax, CursorValue.text(cursorPath.value(in: record)))
            }
            let row: [SQLValue]
            do {
                row = try Self.map(record, parent: nil, fields: fields, key: key, keyIndexes: keyIndexes)
            } catch {
                page.rejects.append(Reject(worksheet: worksheet.name, reason: error.message, raw: record.jsonText))
                continue
            }
            page.rows.rows.append(row)
            page.sourceRecords.append(record)
            for (index, plan) in childPlans.enumerated() {
                childBatches[index].parentKeys.append(keyIndexes.map { row[$0] })
                for item in childRecords(plan.mapping.records, in: record) {
                    do {
                        let childRow = try Self.map(item, parent: record, fields: plan.fields, key: plan.worksheet.key, keyIndexes: childKeyIndexes[index])
                        childBatches[index].rows.rows.append(childRow)
                    } catch {
                        page.rejects.append(Reject(worksheet: plan.worksheet.name, reason: error.message, raw: item.jsonText))
                    }
                }
            }
        }
        page.children = childBatches
        return page
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
    private static func map(_ record: JSONValue, parent: JSONValue?, fields: FieldMapper, key: [String], keyIndexes: [Int]) throws(PageReadError) -> [SQLValue] {
        let row = try fields.row(from: record, parent: parent)
        for (position, index) in keyIndexes.enumerated() where row[index] == .null {
            throw PageReadError(.conversionFailed, "key field '\(key[position])' is missing (\(fields.fields[index].mapping.path.text) found nothing)")
        }
        return row
    }
}

private func article(_ word: String) -> String {
    ["a", "e", "i", "o", "u"].contains(word.prefix(1)) ? "an" : "a"
}
