import SheetSyncCore

/// A worksheet proposed by `sheetsync infer`: its fields with the JSON paths that fill
/// them, its key and how it was chosen, and child worksheets for arrays of objects.
/// `schemaYAML()` and `mappingYAML()` write it as `schema/NAME.yml` and a job's
/// `fields:`/`children:` block.
public struct InferredWorksheet: Sendable, Hashable {
    /// How the key was chosen: the schema file says so in a comment.
    public enum KeySource: Sendable, Hashable {
        /// `--key` on the command line.
        case given
        /// The job's `key:`.
        case job
        /// Guessed from the sample; the reason names what made the fields a candidate.
        case guessed(String)
        /// No field qualifies: the reason says why, and the key is left for the user.
        case missing(String)
    }

    /// One proposed field.
    public struct Field: Sendable, Hashable {
        public var name: String
        /// Where its value comes from: `$.customer.email`, or `$parent.id` for the field
        /// that links a child row to its parent row.
        public var path: JSONPath
        public var type: FieldType
        /// What the user should check about it (always null, an array of values…).
        public var note: String?

        /// Whether the field links a child row to its parent (`$parent.FIELD`).
        public var isLink: Bool { path.root == .parent }
    }

    public var name: String
    /// The records path: for the job's worksheet where its records are in the response,
    /// for a child the path of its array inside each parent record.
    public var records: JSONPath
    public var fields: [Field]
    public var key: [String]
    public var keySource: KeySource
    public var children: [InferredWorksheet]
    /// How many records (for a child: array elements, over all parents) were sampled.
    public var sampleCount: Int
    /// The parent worksheet, for a child.
    public var parent: String?

    /// This worksheet and its children, depth first: the schema files to write.
    public var allWorksheets: [InferredWorksheet] {
        [self] + children.flatMap(\.allWorksheets)
    }

    /// Whether this worksheet and every child have a key.
    public var hasKeys: Bool {
        allWorksheets.allSatisfy { !$0.key.isEmpty }
    }

    /// Why there is no key, when there is none.
    public var missingKeyReason: String? {
        guard key.isEmpty else { return nil }
        if case .missing(let reason) = keySource { return reason }
        return "no key"
    }

    public func field(named name: String) -> Field? {
        fields.first { $0.name == name }
    }
}
