/// Splits a JSON document, fed in chunks of bytes, into the elements of its records
/// array and the rest of the document (the "skeleton").
///
/// This is what keeps a pull's memory flat: the records array of a response, which is
/// nearly all of it, is never held as one tree. Each element's bytes are handed over
/// as soon as the element is complete (to be parsed with `JSONReader` and mapped), and
/// everything outside the array — `has_more`, `next`, `total` — is copied into the
/// skeleton, where the array is left empty (`"data":[]`). The skeleton is small and is
/// parsed as an ordinary document for pagination.
///
/// - The records path must be a chain of member names (`$`, `$.data`,
///   `$.result.items`); `JSONPath.memberChain` tells. Other paths use the tree.
/// - Only an array at the path is split. Anything else there (an object, `null`) stays
///   in the skeleton, and `arrayFound` is false: select the records from the skeleton.
/// - The scanner checks the array's own structure (commas, brackets) and tracks
///   strings and nesting elsewhere; everything it hands over or keeps is then parsed by
///   the strict `JSONReader`, so invalid JSON is still refused with a clear message.
/// - A second array at the same path (a duplicated member) is an error: the tree
///   reading would keep only the last one, a stream has already used the first.
public struct RecordSplitter {
    public let path: [String]
    /// The document without the records: the array at the path is `[]`.
    public private(set) var skeleton: [UInt8] = []
    /// True once an array was found at the path (and split).
    public private(set) var arrayFound = false
    /// Number of elements handed over.
    public private(set) var elementCount = 0

    private struct Frame {
        var isObject: Bool
        /// True when this container lies on the records path.
        var onPath: Bool
        /// Objects: true while the next string is a member name.
        var expectingKey = true
        /// The value about to start is the member of `path` at this level.
        var nextValueOnPath = false
    }

    private var frames: [Frame] = []
    private var offset = 0  // bytes consumed before the current chunk

    // Scanning outside the records array.
    private var inString = false
    private var escaped = false
    private var collectingKey = false
    private var key: [UInt8] = []
    private var rootSeen = false

    // Inside the records array.
    private var inRecords = false
    private var recordsLevel = 0
    private var expectElement = true  // at the start, or after a comma
    private var sawElement = false
    private var inElement = false
    private var elementDepth = 0
    private var elementInString = false
    private var elementEscaped = false
    private var elementIsScalar = false
    private var pending: [UInt8] = []  // an element that spans chunks

    public init(path: [String]) {
        self.path = path
    }

    /// Scans `chunk`, calling `element` with the bytes of every complete element.
    ///
    /// Longer than any other function on purpose: it is the per-byte loop of every pull,
    /// a state machine whose state lives in the stored properties above, each branch one
    /// state; split into per-state methods it would pay calls and state copies per byte.
    public mutating func feed(_ chunk: UnsafeBufferPointer<UInt8>, element: (UnsafeBufferPointer<UInt8>) throws -> Void) throws {
        var index = 0
        var elementStart = -1  // start of the current element within this chunk
        if inElement { elementStart = 0 }
        let count = chunk.count
        while index < count {
            let byte = chunk[index]
            if inRecords {
                if inElement {
                    // Fast paths: runs of bytes that cannot change the element's state.
                    if elementInString, !elementEscaped {
                        if byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\") {
                            index += 1
                            while index < count, chunk[index] != UInt8(ascii: "\""), chunk[index] != UInt8(ascii: "\\") { index += 1 }
                            continue
                        }
                    } else if !elementInString, !elementIsScalar, !Self.isStructural(byte) {
                        index += 1
                        while index < count, !Self.isStructural(chunk[index]) { index += 1 }
                        continue
                    }
                    if try scanElement(byte) {
                        // The element ends before this byte (a scalar) or with it (a container or string).
                        let end = elementIsScalar ? index : index + 1
                        try emit(chunk, from: elementStart, to: end, element)
                        elementStart = -1
                        if elementIsScalar { continue }  // look at the terminator again
                    }
                    index += 1
                    continue
                }
                switch byte {
                case 0x20, 0x0A, 0x0D, 0x09:
                    break
                case UInt8(ascii: ","):
                    guard !expectElement else { throw error("expected an element before ',' in the records array", at: index) }
                    expectElement = true
                case UInt8(ascii: "]"):
                    guard !expectElement || !sawElement else { throw error("expected an element after ',' in the records array", at: index) }
                    inRecords = false
                    skeleton.append(UInt8(ascii: "]"))
                    closeContainer()
                default:
                    guard expectElement else { throw error("expected ',' or ']' after an element of the records array", at: index) }
                    expectElement = false
                    sawElement = true
                    inElement = true
                    elementStart = index
                    elementDepth = 0
                    elementInString = false
                    elementEscaped = false
                    elementIsScalar = byte != UInt8(ascii: "{") && byte != UInt8(ascii: "[") && byte != UInt8(ascii: "\"")
                    if try scanElement(byte) {
                        try emit(chunk, from: elementStart, to: index + 1, element)
                        elementStart = -1
                    }
                }
                index += 1
                continue
            }
            try scanOutside(byte, at: index)
            index += 1
        }
        if inElement, elementStart >= 0 {
            pending.append(contentsOf: UnsafeBufferPointer(rebasing: chunk[elementStart..<count]))
        }
        offset += count
    }

    /// Ends the document; throws when it stopped inside the records array or an element.
    public func finish() throws {
        if inRecords || inElement {
            throw CoreError(.invalidJSON, "invalid JSON at byte \(offset): unexpected end of input inside the records array", offset: offset)
        }
    }

    // MARK: - Outside the records array

    /// One step of the byte-level state machine outside the records array. It is one
    /// function on purpose: it runs for every byte of every response, and each branch
    /// is one state of the machine (string, escape, key, container), read top to bottom.
    private mutating func scanOutside(_ byte: UInt8, at index: Int) throws {
        if inString {
            skeleton.append(byte)
            if escaped {
                escaped = false
                if collectingKey { key.append(byte) }
            } else if byte == UInt8(ascii: "\\") {
                escaped = true
                if collectingKey { key.append(byte) }
            } else if byte == UInt8(ascii: "\"") {
                inString = false
                if collectingKey {
                    collectingKey = false
                    let level = frames.count - 1
                    frames[level].expectingKey = false
                    frames[level].nextValueOnPath = frames[level].onPath && level < path.count && Self.keyMatches(key, path[level])
                }
            } else if collectingKey {
                key.append(byte)
            }
            return
        }
        switch byte {
        case 0x20, 0x0A, 0x0D, 0x09:
            skeleton.append(byte)
            return
        case UInt8(ascii: ":"):
            skeleton.append(byte)
            return
        case UInt8(ascii: ","):
            skeleton.append(byte)
            if let last = frames.indices.last, frames[last].isObject {
                frames[last].expectingKey = true
                frames[last].nextValueOnPath = false
            }
            return
        case UInt8(ascii: "}"), UInt8(ascii: "]"):
            skeleton.append(byte)
            closeContainer()
            return
        default:
            break
        }
        // A string that is a member name, or the start of a value.
        if let last = frames.indices.last, frames[last].isObject, frames[last].expectingKey, byte == UInt8(ascii: "\"") {
            skeleton.append(byte)
            inString = true
            collectingKey = true
            key.removeAll(keepingCapacity: true)
            return
        }
        let onPath: Bool
        if let last = frames.indices.last {
            onPath = frames[last].isObject && frames[last].nextValueOnPath
            if frames[last].isObject { frames[last].nextValueOnPath = false }
        } else {
            onPath = !rootSeen
            rootSeen = true
        }
        let isRecords = onPath && frames.count == path.count
        switch byte {
        case UInt8(ascii: "["):
            skeleton.append(byte)
            if isRecords {
                guard !arrayFound else {
                    throw error("the records path '\(JSONPath(components: path.map { .member($0) }).text)' holds two arrays (a duplicated member); the response is ambiguous", at: index)
                }
                arrayFound = true
                try open(isObject: false, onPath: false, at: index)
                inRecords = true
                recordsLevel = frames.count
                expectElement = true
                sawElement = false
                return
            }
            try open(isObject: false, onPath: false, at: index)
        case UInt8(ascii: "{"):
            skeleton.append(byte)
            try open(isObject: true, onPath: onPath && frames.count < path.count, at: index)
        case UInt8(ascii: "\""):
            skeleton.append(byte)
            inString = true
            collectingKey = false
        default:
            skeleton.append(byte)
        }
    }

    private mutating func open(isObject: Bool, onPath: Bool, at index: Int) throws {
        guard frames.count < JSONReader.maximumDepth else {
            throw error("nesting deeper than \(JSONReader.maximumDepth) levels", at: index)
        }
        frames.append(Frame(isObject: isObject, onPath: onPath))
    }

    private mutating func closeContainer() {
        if !frames.isEmpty { frames.removeLast() }
    }

    /// Member names are compared as written; one with escapes is decoded first.
    private static func keyMatches(_ raw: [UInt8], _ name: String) -> Bool {
        if !raw.contains(UInt8(ascii: "\\")) { return raw.elementsEqual(name.utf8) }
        guard case .string(let decoded)? = try? JSONReader.parse([UInt8(ascii: "\"")] + raw + [UInt8(ascii: "\"")]) else { return false }
        return decoded == name
    }

    // MARK: - Inside the records array

    /// Advances the element scanner over `byte`; true when the element is complete.
    /// For a scalar, completion is seen on the byte after it, which is not part of it.
    private mutating func scanElement(_ byte: UInt8) throws -> Bool {
        if elementIsScalar {
            switch byte {
            case 0x20, 0x0A, 0x0D, 0x09, UInt8(ascii: ","), UInt8(ascii: "]"):
                inElement = false
                return true
            default:
                return false
            }
        }
        if elementInString {
            if elementEscaped {
                elementEscaped = false
            } else if byte == UInt8(ascii: "\\") {
                elementEscaped = true
            } else if byte == UInt8(ascii: "\"") {
                elementInString = false
                if elementDepth == 0 { inElement = false; return true }
            }
            return false
        }
        switch byte {
        case UInt8(ascii: "\""):
            elementInString = true
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            elementDepth += 1
        case UInt8(ascii: "}"), UInt8(ascii: "]"):
            elementDepth -= 1
            if elementDepth == 0 { inElement = false; return true }
        default:
            break
        }
        return false
    }

    /// The bytes that change nesting or string state inside a container element.
    @inline(__always)
    private static func isStructural(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "{"), UInt8(ascii: "}"), UInt8(ascii: "["), UInt8(ascii: "]"): true
        default: false
        }
    }

    private mutating func emit(_ chunk: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int,
                               _ element: (UnsafeBufferPointer<UInt8>) throws -> Void) throws {
        elementCount += 1
        if pending.isEmpty {
            try element(UnsafeBufferPointer(rebasing: chunk[start..<end]))
            return
        }
        pending.append(contentsOf: UnsafeBufferPointer(rebasing: chunk[start..<end]))
        try pending.withUnsafeBufferPointer { try element($0) }
        pending.removeAll(keepingCapacity: pending.count < 1 << 20)
    }

    private func error(_ message: String, at index: Int) -> CoreError {
        CoreError(.invalidJSON, "invalid JSON at byte \(offset + index): \(message)", offset: offset + index)
    }
}

extension JSONPath {
    /// The member names of a path made only of `$` and member steps (`$.data.items`),
    /// or `nil` for any other path.
    public var memberChain: [String]? {
        guard root == .current else { return nil }
        var names: [String] = []
        for component in components {
            guard case .member(let name) = component else { return nil }
            names.append(name)
        }
        return names
    }
}
