import SheetSyncCore

extension WorksheetInference {
    /// Types a key field may have (the schema refuses json; a double and a boolean do
    /// not identify records).
    static let keyTypes: Set<FieldType> = [.text, .integer, .decimal, .date, .datetime]

    /// Guesses a key from the sample: the first field, in this order, whose value is
    /// present (not null, not empty) and unique in every sampled record — for a child,
    /// unique among the elements of each parent, after the link fields:
    /// 1. `id` (Mongo's `_id` is named `id` too);
    /// 2. `uuid`, `guid`, `key`, and `<label>_id`, `_key`, `_uuid`, `_number`, `_no` (`order_id` in orders);
    /// 3. names ending in `_id`, `_uuid`, `_guid`, `_key`, `_ref`, `_code`, `_number`, `_no`, and
    ///    `code`, `sku`, `ref`, `number`, `no`, `slug`;
    /// 4. any other field, first in order (the comment says that no id-like member qualified).
    ///
    /// Within a rank, shallow paths come first. A child with no such field takes every field
    /// present in all its sampled elements. Nothing qualifying: `.missing`, and no key.
    func guessKey(fields: [InferredWorksheet.Field], groups: [[JSONValue]], label: String,
                  isChild: Bool) -> ([String], InferredWorksheet.KeySource) {
        let links = fields.filter(\.isLink).map(\.name)
        let eligible = fields.filter { !$0.isLink && Self.keyTypes.contains($0.type) }
        let ranked = eligible.enumerated()
            .map { (rank: Self.rank($0.element.name, label: label), depth: $0.element.path.components.count, order: $0.offset, field: $0.element) }
            .sorted { ($0.rank, $0.depth, $0.order) < ($1.rank, $1.depth, $1.order) }
        let scope = isChild ? "unique among the elements of each parent record" : "unique in the sample"
        let unit = isChild ? "element" : "record"
        for candidate in ranked where Self.isUnique([candidate.field.path], in: groups) {
            let name = candidate.field.name
            let reason = candidate.rank < 3
                ? "'\(name)' is present in every sampled \(unit) and \(scope)"
                : "no id-like member qualifies; '\(name)' is the first field present in every sampled \(unit) and \(scope)"
            return (links + [name], .guessed(reason))
        }
        if isChild {
            let present = eligible.filter { field in groups.allSatisfy { $0.allSatisfy { Self.isPresent(field.path.value(in: $0)) } } }
            if !present.isEmpty {
                return (links + present.map(\.name),
                        .guessed("no member tells the elements of a parent apart; the key is every field present in all sampled elements"))
            }
            return ([], .missing("no member is present in every sampled element and tells the elements of a parent apart"))
        }
        return ([], .missing(eligible.isEmpty ? "no field holds text, integers, decimals or dates"
                                              : "no field is present in every sampled record and unique in the sample"))
    }

    /// The rank of a field name as a key candidate: 0 best, 3 any name.
    static func rank(_ name: String, label: String) -> Int {
        if name == "id" { return 0 }
        let own = ["uuid", "guid", "key"] + ["_id", "_key", "_uuid", "_number", "_no"].map { label + $0 }
        if own.contains(name) { return 1 }
        let suffixes = ["_id", "_uuid", "_guid", "_key", "_ref", "_code", "_number", "_no"]
        if suffixes.contains(where: { name.hasSuffix($0) }) || ["code", "sku", "ref", "number", "no", "slug"].contains(name) { return 2 }
        return 3
    }

    /// Whether the values at `paths` are present in every record and, together, unique
    /// within each group.
    static func isUnique(_ paths: [JSONPath], in groups: [[JSONValue]]) -> Bool {
        var sawAny = false
        for group in groups {
            var seen = Set<[String]>()
            for record in group {
                let values = paths.map { $0.value(in: record) }
                guard values.allSatisfy(isPresent) else { return false }
                guard seen.insert(values.map { $0?.jsonText ?? "" }).inserted else { return false }
                sawAny = true
            }
        }
        return sawAny
    }

    static func isPresent(_ value: JSONValue?) -> Bool {
        switch value {
        case nil, .null?: false
        case .string(let text)?: !text.isEmpty
        default: true
        }
    }
}
