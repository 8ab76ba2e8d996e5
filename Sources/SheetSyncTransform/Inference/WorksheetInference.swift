import SheetSyncCore

/// Proposes worksheets and a job's field mapping from sample records: `sheetsync infer`.
///
/// Rules, over **all** sampled records:
/// - A member with scalar values is a field typed by `FieldTypeGuess` (integer, number,
///   decimal, boolean, date, datetime, else text; leading-zero digit strings stay text).
/// - A member holding objects is flattened: `customer: {email: …}` is the field
///   `customer_email: $.customer.email`, to `maxPathLength` members deep; a deeper object,
///   an object with more than `maxObjectMembers` different members (a map keyed by ids)
///   and an always-empty object are one `json` field.
/// - A member holding arrays of objects is a child worksheet named after its parent
///   (`orders` + `items` → `orders_items`), linked by a field per parent key field
///   (`order_id: $parent.id`), with its own fields, key and children.
/// - An array of values (tags, ids), an always-empty array and a member whose form
///   differs between records are `json` fields; an always-null member is `text`; each
///   gets a comment in the schema saying what to check.
/// - Names are snake_case (`FieldNaming`); a name already taken gets `_2`, `_3`…
/// - The key: the given one, else a guess (`guessKey`), marked as such.
public struct WorksheetInference: Sendable {
    /// Paths longer than this (members from the record) end in a json field.
    public var maxPathLength = 4
    /// Objects with more different members than this are kept whole, as json.
    public var maxObjectMembers = 30

    public init() {}

    /// The worksheet for `records` (the objects the job's records path selects), its
    /// children, and their keys. `key` is the key to use (from `--key` or the job,
    /// as `keySource` says); without it, the key is guessed.
    public func infer(worksheet name: String, records path: JSONPath, sample records: [JSONObject],
                      key: [String]? = nil, keySource: InferredWorksheet.KeySource = .given) throws(PageReadError) -> InferredWorksheet {
        var shape = RecordShape()
        for record in records { shape.add(record) }
        var worksheetNames: Set<String> = [name]
        var top = level(name: name, label: FieldNaming.singular(name), records: path, shape: shape, groups: [records.map(JSONValue.object)],
                        parent: nil, worksheetNames: &worksheetNames, givenKey: key)
        if let key {
            for field in key {
                guard let found = top.field(named: field) else {
                    throw PageReadError(.invalidJob, "key field '\(field)' is not one of the proposed fields of '\(name)'\(Suggestion.didYouMean(field, in: top.fields.map(\.name))) (fields: \(top.fields.map(\.name).joined(separator: ", ")))")
                }
                if found.type == .json {
                    throw PageReadError(.invalidJob, "key field '\(field)' holds objects or arrays (type json); a key field must be text, integer, decimal, date or datetime")
                }
            }
            top.keySource = keySource
        }
        return top
    }

    /// A parent's key fields, as its children link to them.
    struct ParentLink {
        var worksheet: String
        /// The prefix of link field names: the singular of the parent's name.
        var label: String
        /// The parent's key fields: name, type, and whether it is itself a link.
        var keyFields: [InferredWorksheet.Field]
    }

    /// A member that becomes a child worksheet, found while flattening.
    struct ChildSpec {
        var components: [JSONPath.Component]
        var names: [String]
        var shape: RecordShape
    }

    /// One worksheet and, recursively, its children. `label` names one of its records
    /// (`order`, `item`): the prefix of its children's link fields. `groups` are the sampled
    /// records by parent record (one group for the job's worksheet), for the key's uniqueness.
    func level(name: String, label: String, records path: JSONPath, shape: RecordShape, groups: [[JSONValue]], parent: ParentLink?,
               worksheetNames: inout Set<String>, givenKey: [String]?) -> InferredWorksheet {
        var taken = Set<String>()
        var fields: [InferredWorksheet.Field] = []
        if let parent {
            for keyField in parent.keyFields {
                let linkName = keyField.isLink ? keyField.name : "\(parent.label)_\(keyField.name)"
                fields.append(.init(name: FieldNaming.unique(linkName, in: &taken),
                                    path: JSONPath(root: .parent, components: [.member(keyField.name)]), type: keyField.type))
            }
        }
        var childSpecs: [ChildSpec] = []
        flatten(shape, components: [], names: [], taken: &taken, fields: &fields, children: &childSpecs)

        var worksheet = InferredWorksheet(name: name, records: path, fields: fields, key: [], keySource: .given, children: [],
                                          sampleCount: shape.count, parent: parent?.worksheet)
        if let givenKey {
            worksheet.key = givenKey
        } else {
            (worksheet.key, worksheet.keySource) = guessKey(fields: fields, groups: groups, label: label, isChild: parent != nil)
        }
        // Children link to the key just chosen; without one they cannot link (the
        // worksheet's comment says so, and the result is not written).
        let keyFields = worksheet.key.compactMap { worksheet.field(named: $0) }
        for spec in childSpecs {
            let childName = FieldNaming.unique(FieldNaming.name([name] + spec.names), in: &worksheetNames)
            let childPath = JSONPath(components: spec.components)
            let childGroups: [[JSONValue]] = groups.flatMap { $0 }.map { record in
                guard case .array(let items)? = childPath.value(in: record) else { return [] }
                return items.filter { if case .object = $0 { true } else { false } }
            }
            let link = ParentLink(worksheet: name, label: label, keyFields: keyFields)
            let childLabel = FieldNaming.singular(FieldNaming.name([spec.names.last ?? childName]))
            worksheet.children.append(level(name: childName, label: childLabel, records: childPath, shape: spec.shape, groups: childGroups, parent: link,
                                            worksheetNames: &worksheetNames, givenKey: nil))
        }
        return worksheet
    }

    /// Adds a field (or a child) for each member of `shape`, flattening objects.
    func flatten(_ shape: RecordShape, components: [JSONPath.Component], names: [String], taken: inout Set<String>,
                 fields: inout [InferredWorksheet.Field], children: inout [ChildSpec]) {
        for key in shape.order {
            guard let member = shape.members[key] else { continue }
            let path = components + [.member(key)]
            let parts = names + [key]
            func add(_ type: FieldType, _ note: String? = nil) {
                fields.append(.init(name: FieldNaming.unique(FieldNaming.name(parts), in: &taken), path: JSONPath(components: path),
                                    type: type, note: note))
            }
            switch member.form {
            case .nothing:
                add(.text, "null in every sampled record: check the type")
            case .scalar:
                add(member.scalars.fieldType, member.scalars.type == nil ? "empty in every sampled record: check the type" : nil)
            case .object:
                let object = member.object ?? RecordShape()
                if object.order.isEmpty {
                    add(.json, "an empty object in every sampled record")
                } else if path.count >= maxPathLength {
                    add(.json, "an object nested \(path.count) levels deep, kept whole")
                } else if object.order.count > maxObjectMembers {
                    add(.json, "an object with \(object.order.count) different members (a map?), kept whole")
                } else {
                    flatten(object, components: path, names: parts, taken: &taken, fields: &fields, children: &children)
                }
            case .arrayOfObjects:
                children.append(ChildSpec(components: path, names: parts, shape: member.elements ?? RecordShape()))
            case .emptyArrays:
                add(.json, "an empty array in every sampled record; if it holds objects, map them as children")
            case .mixed:
                if member.scalarCount == 0, member.object == nil {
                    add(.json, "an array of values")
                } else {
                    add(.json, "values of different kinds in different records")
                }
            }
        }
    }
}
