/// The parts of a JSON value a job reads, so that a record can be parsed without building
/// what nothing reads (issue 17: a record's unused members were most of the allocations
/// of a first load).
///
/// `JSONReader.parse(_:projection:)` reads a value under a projection:
/// - `keepsWhole`: the value is read in full;
/// - an object keeps only the members named in `members` (each read under its own
///   projection) and skips the others, still validating them: a document the plain
///   reader refuses is refused the same way, with the same error;
/// - an array is read element by element under `elements` when that is set, in full
///   otherwise; scalars are read as usual.
///
/// Every path a projection was built from therefore finds in the projected value exactly
/// what it finds in the full one. Member names compare as Swift strings do (canonical
/// equivalence): a projection that would have to match a non-ASCII name keeps its object
/// whole instead of comparing bytes.
public struct JSONProjection: Sendable, Equatable {
    /// One member an object keeps.
    public struct Member: Sendable, Equatable {
        public var name: String
        /// `name`'s UTF-8, compared with the bytes of an unescaped ASCII member name.
        var bytes: [UInt8]
        public var projection: JSONProjection
    }

    public private(set) var keepsWhole = false
    public private(set) var members: [Member] = []
    /// The projection of each element of an array (at most one; an array for recursion).
    private var each: [JSONProjection] = []

    public init() {}

    /// A projection that reads everything.
    public static let whole: JSONProjection = {
        var projection = JSONProjection()
        projection.keepsWhole = true
        return projection
    }()

    public var elements: JSONProjection? { each.first }

    /// Adds a path read from this value (its components after the root).
    public mutating func add(_ components: ArraySlice<JSONPath.Component>) {
        guard !keepsWhole else { return }
        guard let first = components.first, case .member(let name) = first else {
            // The value itself, or an index or wildcard step: keep the value whole.
            keepWhole()
            return
        }
        withMember(name) { $0.add(components.dropFirst()) }
    }

    /// Adds records read at `components` (as `children` select them: an array's elements,
    /// or a single object), each read under `record`.
    public mutating func add(records components: ArraySlice<JSONPath.Component>, each record: JSONProjection) {
        guard !keepsWhole else { return }
        guard let first = components.first else {
            merge(record)
            if each.isEmpty { each = [record] } else { each[0].merge(record) }
            return
        }
        guard case .member(let name) = first else {
            keepWhole()
            return
        }
        withMember(name) { $0.add(records: components.dropFirst(), each: record) }
    }

    /// What either projection reads.
    public mutating func merge(_ other: JSONProjection) {
        guard !keepsWhole else { return }
        if other.keepsWhole {
            keepWhole()
            return
        }
        for member in other.members {
            withMember(member.name) { $0.merge(member.projection) }
        }
        if let elements = other.elements {
            if each.isEmpty { each = [elements] } else { each[0].merge(elements) }
        }
    }

    private mutating func keepWhole() {
        self = .whole
    }

    private mutating func withMember(_ name: String, _ change: (inout JSONProjection) -> Void) {
        // Bytes compare like Swift strings only for ASCII names (see the type's comment).
        guard name.utf8.allSatisfy({ $0 < 0x80 }) else {
            keepWhole()
            return
        }
        if let index = members.firstIndex(where: { $0.name == name }) {
            change(&members[index].projection)
        } else {
            var projection = JSONProjection()
            change(&projection)
            members.append(Member(name: name, bytes: Array(name.utf8), projection: projection))
        }
    }

    /// What `JSONReader.parse(_:projection:)` returns for a document whose full tree is
    /// `value` (the specification the tests hold the reader to).
    public func applied(to value: JSONValue) -> JSONValue {
        if keepsWhole { return value }
        switch value {
        case .object(let object):
            return .object(JSONObject(object.members.compactMap { pair in
                member(named: pair.key).map { JSONObject.Member(key: pair.key, value: members[$0].projection.applied(to: pair.value)) }
            }))
        case .array(let values):
            guard let elements else { return value }
            return .array(values.map(elements.applied(to:)))
        default:
            return value
        }
    }

    /// The position in `members` of the member whose name is `key`'s bytes (unescaped
    /// ASCII), or nil.
    func member(matching key: UnsafeBufferPointer<UInt8>) -> Int? {
        members.firstIndex { member in
            member.bytes.count == key.count && member.bytes.withUnsafeBufferPointer { $0.elementsEqual(key) }
        }
    }

    /// The position in `members` of the member named `key` (any decoded name), or nil.
    func member(named key: String) -> Int? {
        members.firstIndex { $0.name == key }
    }
}
