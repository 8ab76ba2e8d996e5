import Testing
@testable import SheetSyncCore

/// The streaming splitter must agree with reading the whole tree: the same elements,
/// in order, and the rest of the document with the records array emptied — whatever
/// the chunk boundaries.
struct RecordSplitterTests {
    static let documents: [(path: String, json: String)] = [
        ("$.data", #"{"data":[{"id":1},{"id":2}],"has_more":true}"#),
        ("$.data", #"{"page":3, "data" : [ {"id":"a]\"}{["}, [1,[2]], "x,y", 12.5e3, -0, true, false, null, {} , [] ] , "next":"tok"}"#),
        ("$.data", #"{"meta":{"data":[1,2,3]},"data":[{"n":{"data":[9]}}]}"#),
        ("$.data", #"{"d\u0061ta":[{"id":1}],"other":"\"data\":[5]"}"#),
        ("$.data", #"{"data":[]}"#),
        ("$.data", #"{"data":[ ]}"#),
        ("$.data", #"{"data":{"id":1}}"#),
        ("$.data", #"{"data":null,"x":[1]}"#),
        ("$.data", #"{"nothing":[1]}"#),
        ("$", #"[{"id":1},{"id":2,"tags":["a","b"]}]"#),
        ("$", #"  [ 1 , 2 ,3 ]  "#),
        ("$", #"{"id":1}"#),
        ("$.result.items", #"{"result":{"count":2,"items":[{"sku":"A"},{"sku":"B"}],"after":"x"},"items":[{"no":1}]}"#),
        ("$.result.items", #"{"items":[{"no":1}],"result":[{"items":[1]}]}"#),
        ("$.data", #"[{"data":[1]}]"#),
        ("$.data", #"{"data":["é😀\u00e9\ud83d\ude00","\\","\/"]}"#),
    ]

    static func reference(_ path: JSONPath, _ json: String) throws -> (elements: [JSONValue]?, skeleton: JSONValue) {
        let document = try JSONReader.parse(json)
        guard let names = path.memberChain else { fatalError("not a member chain") }
        // Replace the array at the path by [] (the last member of that name wins, as in the tree).
        func empty(_ value: JSONValue, _ rest: ArraySlice<String>) -> (JSONValue, [JSONValue]?) {
            guard let name = rest.first else {
                if case .array(let elements) = value { return (.array([]), elements) }
                return (value, nil)
            }
            guard case .object(var object) = value, let index = object.members.lastIndex(where: { $0.key == name }) else { return (value, nil) }
            let (replaced, elements) = empty(object.members[index].value, rest.dropFirst())
            object.members[index].value = replaced
            return (.object(object), elements)
        }
        let (skeleton, elements) = empty(document, names[...])
        return (elements, skeleton)
    }

    static func split(_ path: JSONPath, _ json: String, chunk: Int) throws -> (elements: [JSONValue], found: Bool, skeleton: JSONValue) {
        var splitter = RecordSplitter(path: path.memberChain!)
        var elements: [JSONValue] = []
        let bytes = Array(json.utf8)
        var start = 0
        while start < bytes.count {
            let end = min(start + chunk, bytes.count)
            try Array(bytes[start..<end]).withUnsafeBufferPointer { buffer in
                try splitter.feed(buffer) { elements.append(try JSONReader.parse($0)) }
            }
            start = end
        }
        try splitter.finish()
        #expect(splitter.elementCount == elements.count)
        return (elements, splitter.arrayFound, try JSONReader.parse(splitter.skeleton))
    }

    @Test(arguments: documents.indices)
    func agreesWithTheTree(index: Int) throws {
        let (pathText, json) = Self.documents[index]
        let path = try JSONPath(parsing: pathText)
        let expected = try Self.reference(path, json)
        for chunk in [1, 2, 3, 7, 64, json.utf8.count] {
            let result = try Self.split(path, json, chunk: chunk)
            #expect(result.found == (expected.elements != nil), "chunk \(chunk)")
            #expect(result.elements == (expected.elements ?? []), "chunk \(chunk)")
            #expect(result.skeleton == expected.skeleton, "chunk \(chunk)")
        }
    }

    @Test(arguments: [
        (#"{"data":[1,,2]}"#, "expected an element before ','"),
        (#"{"data":[1,2,]}"#, "expected an element after ','"),
        (#"{"data":[{"a":1} {"a":2}]}"#, "expected ',' or ']'"),
        (#"{"data":[{"a":1}"#, "unexpected end of input inside the records array"),
        (#"{"data":[1],"data":[2]}"#, "holds two arrays"),
        (#"{"data":[{"a":tru}]}"#, "expected a value"),
    ])
    func brokenRecordsArraysAreRefused(json: String, message: String) throws {
        let path = try JSONPath(parsing: "$.data")
        for chunk in [1, 5, json.utf8.count] {
            do {
                _ = try Self.split(path, json, chunk: chunk)
                Issue.record("no error for \(json) in chunks of \(chunk)")
            } catch {
                #expect("\(error)".contains(message), "\(error)")
            }
        }
    }

    @Test func deepNestingOutsideTheRecordsIsRefusedWithoutRecursion() throws {
        let json = "{\"x\":" + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + ",\"data\":[]}"
        #expect(throws: CoreError.self) { _ = try Self.split(try JSONPath(parsing: "$.data"), json, chunk: 4096) }
    }

    @Test func onlyMemberChainsCanStream() throws {
        #expect(try JSONPath(parsing: "$.data.items").memberChain == ["data", "items"])
        #expect(try JSONPath(parsing: "$").memberChain == [])
        #expect(try JSONPath(parsing: "$.data[*]").memberChain == nil)
        #expect(try JSONPath(parsing: "$.data[0]").memberChain == nil)
    }
}
