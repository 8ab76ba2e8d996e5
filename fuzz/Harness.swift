// libFuzzer harness for sheetsync's parsers (see scripts/fuzz). Compiled by scripts/fuzz
// together with copies of SheetSyncCore's and SheetSyncTransform's sources, with
// -sanitize=fuzzer,address; not part of the Swift package.
//
// SHEETSYNC_FUZZ_TARGET picks the target:
//   jsonpath   JSON path parser: parse, print, parse again → the same path; select never traps
//   template   template parser and renderer: parse; render as text, URL, header and JSON
//   cron       cron parser and next-fire times: each next date is later than the one before
//   json       JSON reader against the record splitter: same elements, same verdict
//   transform  Get Multiple Data through the page reader on arbitrary bytes: every record becomes
//              a row or a reject, and the bytes read in 7-byte chunks give the same page
//   redact     Redactor and SecretSeal on arbitrary text and secrets: no secret survives masking,
//              an excerpt masks before it cuts, seal → unseal gives back every byte
import Foundation

let target = ProcessInfo.processInfo.environment["SHEETSYNC_FUZZ_TARGET"] ?? "json"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    switch target {
    case "jsonpath": fuzzJSONPath(bytes)
    case "template": fuzzTemplate(bytes)
    case "cron": fuzzCron(bytes)
    case "json": fuzzJSON(bytes)
    case "transform": fuzzTransform(bytes)
    case "redact": fuzzRedact(bytes)
    default: fatalError("unknown SHEETSYNC_FUZZ_TARGET '\(target)'")
    }
    return 0
}

func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}

let sampleDocument: JSONValue = {
    let text = #"{"data": [{"id": 1, "a": {"b": [1, 2, {"c": "x"}]}, "odd key": true}], "next": "t", "a": null}"#
    return try! JSONReader.parse(text)
}()

func fuzzJSONPath(_ bytes: [UInt8]) {
    guard let text = String(validating: bytes, as: UTF8.self), let path = try? JSONPath(parsing: text) else { return }
    _ = path.select(in: sampleDocument, parent: sampleDocument)
    _ = path.value(in: sampleDocument, parent: sampleDocument)
    _ = path.memberChain
    // What sheetsync prints must read back as the same path.
    let printed = JSONPath(root: path.root, components: path.components).text
    guard let again = try? JSONPath(parsing: printed) else { fatalError("printed path '\(printed)' of '\(text)' does not parse") }
    check(again.root == path.root && again.components == path.components, "'\(text)' → '\(printed)' reads back differently")
}

let sampleValues: TemplateValues = {
    var values = TemplateValues(env: ["API": "http://127.0.0.1:1", "X": "a b/c?d"], secrets: ["TOKEN": "s3cr3t"],
                                params: ["p": "1"], state: ["cursor": "2024-01-01T00:00:00Z"], page: ["number": "2"],
                                record: ["id": .number("7"), "name": .string("é\"\\"), "nested": .object(JSONObject(["k": .array([.null, .bool(true)])]))])
    values.steps = ["auth.token": .string("t")]
    return values
}()

func fuzzTemplate(_ bytes: [UInt8]) {
    guard let text = String(validating: bytes, as: UTF8.self), let template = try? Template(parsing: text) else { return }
    _ = try? template.renderText(sampleValues)
    _ = try? template.renderURL(sampleValues)
    if let header = try? template.renderHeader(sampleValues, name: "X-Test") {
        check(!header.contains("\r") && !header.contains("\n"), "a header value with a line break was accepted: \(header.debugDescription)")
    }
    if let json = try? JSONTemplate.string(template).render(sampleValues) {
        check((try? JSONReader.parse(json.jsonText)) == json, "rendered JSON does not read back: \(json.jsonText)")
    }
}

let fuzzStart = Date(timeIntervalSince1970: 1_710_000_000)  // March 2024, near a DST change
let zones = [TimeZone(identifier: "UTC")!, TimeZone(identifier: "America/New_York")!, TimeZone(identifier: "Australia/Lord_Howe")!]

func fuzzCron(_ bytes: [UInt8]) {
    guard let text = String(validating: bytes, as: UTF8.self), let cron = try? CronExpression(parsing: text) else { return }
    for zone in zones {
        var previous = fuzzStart
        for _ in 0..<4 {
            guard let next = cron.nextDate(after: previous, in: zone) else { break }
            check(next > previous, "'\(text)' in \(zone.identifier): \(next) is not after \(previous)")
            previous = next
        }
    }
}

let fuzzProjection: JSONProjection = {
    var projection = JSONProjection()
    for text in ["$.id", "$.a.b", "$.data", "$.k[0]"] { projection.add(try! JSONPath(parsing: text).components[...]) }
    var each = JSONProjection()
    each.add(try! JSONPath(parsing: "$.x").components[...])
    projection.add(records: try! JSONPath(parsing: "$.items").components[...], each: each)
    return projection
}()

func fuzzJSON(_ bytes: [UInt8]) {
    let tree = try? JSONReader.parse(bytes)
    if let tree {
        check((try? JSONReader.parse(tree.jsonText)) == tree, "JSON text of a parsed value does not read back")
    }
    // Read under a projection: the same documents accepted, the same errors, and what
    // the projection keeps equal to the full tree's.
    var plainError: CoreError?
    do { _ = try JSONReader.parse(bytes) } catch { plainError = error }
    do {
        let projected = try JSONReader.parse(bytes, projection: fuzzProjection)
        check(tree.map { fuzzProjection.applied(to: $0) == projected } ?? false, "a projected read differs from the projected tree")
    } catch {
        check(error.message == plainError?.message, "a projected read fails differently: \(error.message)")
    }
    // The splitter at an awkward chunk size must agree with the tree.
    var splitter = RecordSplitter(path: ["data"])
    var elements: [JSONValue] = []
    var skeleton: JSONValue?
    do {
        var start = 0
        while start < bytes.count {
            let end = min(start + 7, bytes.count)
            try Array(bytes[start..<end]).withUnsafeBufferPointer { chunk in
                try splitter.feed(chunk) { elements.append(try JSONReader.parse($0)) }
            }
            start = end
        }
        try splitter.finish()
        skeleton = try JSONReader.parse(splitter.skeleton)
    } catch {
        skeleton = nil
    }
    guard let tree else {
        check(skeleton == nil, "the splitter accepted a document the reader refuses")
        return
    }
    guard case .object(let object) = tree, object.members.filter({ $0.key == "data" }).count == 1 else { return }
    guard let skeleton else {
        fatalError("the splitter refused a document the reader accepts")
    }
    if case .array(let expected)? = tree["data"] {
        check(splitter.arrayFound && elements == expected, "the splitter's elements differ from the tree's")
        check(skeleton["data"] == .array([]), "the skeleton keeps records")
    } else {
        check(!splitter.arrayFound && skeleton == tree, "the skeleton differs from the document")
    }
}

let transformJob: GetMultipleData = {
    let orders = WorksheetDefinition(name: "orders", key: ["id"], fields: [
        .init(name: "id", type: .text), .init(name: "n", type: .integer), .init(name: "total", type: .decimal),
        .init(name: "at", type: .datetime), .init(name: "ok", type: .boolean), .init(name: "day", type: .date),
        .init(name: "ratio", type: .number), .init(name: "doc", type: .json)])
    let items = WorksheetDefinition(name: "items", key: ["order_id", "sku"], fields: [.init(name: "order_id", type: .text), .init(name: "sku", type: .text)])
    func path(_ text: String) -> JSONPath { try! JSONPath(parsing: text) }
    let fields = ["id", "n", "total", "at", "ok", "day", "ratio", "doc"].map { FieldMapping(field: $0, path: path("$.\($0)")) }
    let pull = PullJob(request: HTTPRequestSpec(url: try! Template(parsing: "http://127.0.0.1:1/")), records: path("$.data"), fields: fields,
                       children: [ChildMapping(worksheet: "items", records: path("$.items"),
                                               fields: [FieldMapping(field: "order_id", path: path("$parent.id")), FieldMapping(field: "sku", path: path("$.sku"))])])
    return try! GetMultipleData(jobName: "fuzz", job: pull, worksheet: orders, worksheets: ["orders": orders, "items": items])
}()

let transformReader = PageReader(mapper: transformJob)
let fullTransformReader = PageReader(mapper: transformJob, projecting: false)

func fuzzTransform(_ bytes: [UInt8]) {
    // The same bytes in 7-byte chunks, 3 records a batch (as a spilled body is read).
    var chunkedRows: [[SQLValue]] = []
    var chunkedRejects = 0
    let outline = try? transformReader.read({ each in
        var start = 0
        while start < bytes.count {
            try bytes[start..<min(start + 7, bytes.count)].withUnsafeBufferPointer { try each($0) }
            start += 7
        }
    }, batchSize: 3) { page in
        chunkedRows += page.rows.rows
        chunkedRejects += page.rejects.count
    }
    guard let (_, page) = try? transformReader.read(bytes) else {
        check(outline == nil, "chunks were read as a page where the whole body is refused")
        return
    }
    // Records parsed in full give the same page as records parsed under the projection.
    if let (_, full) = try? fullTransformReader.read(bytes) {
        check(full.rows == page.rows && full.rejects.map(\.raw) == page.rejects.map(\.raw)
              && full.children.map(\.rows) == page.children.map(\.rows), "a projected page differs from the full one")
    } else {
        check(false, "the full reader refuses a page the projected one reads")
    }
    let rejectedParents = page.rejects.filter { $0.worksheet == "orders" }.count
    check(page.rows.rows.count + rejectedParents == page.recordCount, "\(page.recordCount) records became \(page.rows.rows.count) rows and \(rejectedParents) rejects")
    for row in page.rows.rows { check(row.count == 8 && row[0] != .null, "a row without its key or with missing columns") }
    check(outline?.recordCount == page.recordCount && chunkedRows == page.rows.rows && chunkedRejects == page.rejects.count,
          "read in chunks, the page differs from the page read whole")
}

/// The input is `secret 0x00 text`: a secret (1–64 bytes) and a text to mask and seal.
func fuzzRedact(_ bytes: [UInt8]) {
    guard let split = bytes.firstIndex(of: 0), split > 0, split <= 64 else { return }
    let secret = String(decoding: bytes[..<split], as: UTF8.self)
    let text = String(decoding: bytes[(split + 1)...], as: UTF8.self)
    let redactor = Redactor(secrets: [secret])
    for candidate in [text, secret + text, text + secret, text + secret + text] {
        let masked = redactor.redact(candidate)
        // (A secret with a '*' can be spelled by the text beside a mask and the mask itself.)
        check(!masked.contains(secret) || secret.contains("*"), "the secret survives masking in '\(masked)'")
        // An excerpt is the start of the masked whole text (masked first, then cut).
        let excerpt = redactor.excerpt(candidate, limit: 40)
        let expected = masked.count <= 40 ? masked : String(masked.prefix(40)) + "…"
        check(excerpt == expected, "the excerpt '\(excerpt)' is not the start of the masked text '\(masked)'")
        let sealed = SecretSeal.seal(candidate, secrets: ["S": secret])
        let stored = try! SealedText(text: sealed.text, sealsJSON: sealed.sealsJSON)
        check(try! SecretSeal.unseal(stored, secrets: ["S": secret]) == candidate, "seal → unseal changed '\(candidate)'")
        // Data that reads like a placeholder, without a seal, is never unsealed.
        check(try! SecretSeal.unseal(SealedText(text: candidate), secrets: ["S": secret]) == candidate, "unsealed data")
    }
}
