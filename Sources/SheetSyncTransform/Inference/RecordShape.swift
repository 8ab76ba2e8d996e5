import SheetSyncCore

/// What the members of a set of JSON objects held, over all of them: the first pass of
/// `WorksheetInference`. Members keep the order of their first appearance.
struct RecordShape: Sendable {
    /// How many objects were added.
    var count = 0
    var order: [String] = []
    var members: [String: MemberShape] = [:]

    /// Takes one object's members into account.
    mutating func add(_ object: JSONObject) {
        count += 1
        var seen = Set<String>()
        for member in object.members where seen.insert(member.key).inserted {
            if members[member.key] == nil {
                order.append(member.key)
                members[member.key] = MemberShape()
            }
            members[member.key]!.add(member.value)
        }
    }
}

/// What one member held across the objects of a `RecordShape`.
struct MemberShape: Sendable {
    /// The type of its scalar values.
    var scalars = FieldTypeGuess()
    var scalarCount = 0
    var nullCount = 0
    /// Its members, merged over every object value it had.
    var object: RecordShape?
    /// The members of the objects inside its array values, merged over every array.
    var elements: RecordShape?
    var arrayCount = 0
    /// Arrays with an element that is not an object (null elements aside).
    var arraysOfValues = 0

    mutating func add(_ value: JSONValue) {
        switch value {
        case .null:
            nullCount += 1
        case .object(let members):
            if object == nil { object = RecordShape() }
            object!.add(members)
        case .array(let items):
            arrayCount += 1
            var ofValues = false
            for item in items {
                switch item {
                case .object(let members):
                    if elements == nil { elements = RecordShape() }
                    elements!.add(members)
                case .null: break
                default: ofValues = true
                }
            }
            if ofValues { arraysOfValues += 1 }
        default:
            scalarCount += 1
            scalars.add(value)
        }
    }

    /// Which form the member takes in the proposal.
    enum Form {
        /// Always null or missing.
        case nothing
        /// Scalars (and nulls): one field.
        case scalar
        /// Objects (and nulls): flattened into fields.
        case object
        /// Arrays of objects (and empty arrays, nulls): a child worksheet.
        case arrayOfObjects
        /// Empty arrays only: a json field.
        case emptyArrays
        /// Arrays of values, or different forms in different records: a json field.
        case mixed
    }

    var form: Form {
        let kinds = [scalarCount > 0, object != nil, arrayCount > 0].filter { $0 }.count
        if kinds == 0 { return .nothing }
        if kinds > 1 { return .mixed }
        if scalarCount > 0 { return .scalar }
        if object != nil { return .object }
        if arraysOfValues > 0 { return .mixed }
        return elements == nil ? .emptyArrays : .arrayOfObjects
    }
}
