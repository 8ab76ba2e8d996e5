import Foundation
import Testing
@testable import SheetSyncCore
@testable import SheetSyncFiles

/// A table of broken job, schema and settings files, each with the exact problems
/// `sheetsync validate` must report for it, in compiler format.
struct BrokenFilesTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var path: String
        var text: String
        var expected: [String]
        var testDescription: String { name }
    }

    static let pullHead = "kind: pull\nworksheet: orders\n"

    static let cases: [Case] = [
        Case(name: "unknown key in request, with did-you-mean", path: "jobs/a.yml",
             text: pullHead + "request:\n  urll: http://x\n",
             expected: ["jobs/a.yml:4:3: error: unknown key 'urll' in 'request', did you mean 'url'?",
                        "jobs/a.yml:4:3: error: missing required key 'url' in 'request'"]),
        Case(name: "unknown top-level key", path: "jobs/a.yml",
             text: pullHead + "schedul: '@hourly'\nrequest: { url: 'http://x' }\n",
             expected: ["jobs/a.yml:3:1: error: unknown key 'schedul', did you mean 'schedule'?"]),
        Case(name: "missing kind", path: "jobs/a.yml",
             text: "worksheet: orders\nrequest: { url: 'http://x' }\n",
             expected: ["jobs/a.yml:1:1: error: missing required key 'kind' (expected 'pull' or 'push')"]),
        Case(name: "misspelt kind", path: "jobs/a.yml",
             text: "kind: pul\nworksheet: orders\nrequest: { url: 'http://x' }\n",
             expected: ["jobs/a.yml:1:7: error: invalid value 'pul' for 'kind', did you mean 'pull'? (expected one of: pull, push)"]),
        Case(name: "missing worksheet", path: "jobs/a.yml",
             text: "kind: pull\nrequest: { url: 'http://x' }\n",
             expected: ["jobs/a.yml:1:1: error: missing required key 'worksheet'"]),
        Case(name: "worksheet no schema defines", path: "jobs/a.yml",
             text: "kind: pull\nworksheet: order\nrequest: { url: 'http://x' }\n",
             expected: ["jobs/a.yml:2:12: error: worksheet 'order' is not defined in schema/, did you mean 'orders'?"]),
        Case(name: "field the worksheet lacks", path: "jobs/a.yml",
             text: pullHead + "request: { url: 'http://x' }\nfields:\n  id: $.id\n  totl: $.total\n",
             expected: ["jobs/a.yml:6:3: error: field 'totl' is not in worksheet 'orders', did you mean 'total'?"]),
        Case(name: "JSON path with recursive descent", path: "jobs/a.yml",
             text: pullHead + "request: { url: 'http://x' }\nfields:\n  id: $.id\n  total: \"$.amount..value\"\n",
             expected: ["jobs/a.yml:6:20: error: invalid JSON path '$.amount..value': expected a member name after '.'; '..' (recursive descent) is not supported"]),
        Case(name: "JSON path without $", path: "jobs/a.yml",
             text: pullHead + "request: { url: 'http://x' }\nrecords: data\n",
             expected: ["jobs/a.yml:4:10: error: invalid JSON path 'data': a path must start with '$' (for example '$.data')"]),
        Case(name: "unknown template source", path: "jobs/a.yml",
             text: pullHead + "request:\n  url: \"{{envv.SHOP_URL}}/orders\"\n",
             expected: ["jobs/a.yml:4:11: error: invalid template '{{envv.SHOP_URL}}/orders': unknown source 'envv', did you mean 'env'? (sources: env, secret, param, state, window, page, record, steps)"]),
        Case(name: "unset environment variable", path: "jobs/a.yml",
             text: pullHead + "request:\n  url: \"{{env.SHOP_URL}}/o?x={{env.MISSING_VAR}}\"\n",
             expected: ["jobs/a.yml:4:30: error: environment variable 'MISSING_VAR' is not set; export MISSING_VAR=… or give it a default under 'env:' in sheetsync.yml"]),
        Case(name: "timeout that is not a duration", path: "jobs/a.yml",
             text: pullHead + "request:\n  url: http://x\n  timeout: fast\n",
             expected: ["jobs/a.yml:5:12: error: invalid duration 'fast': expected a number at 'fast'; expected forms like '10s', '500ms', '5m', '1h30m' for 'request.timeout'"]),
        Case(name: "proxy that is not a boolean", path: "jobs/a.yml",
             text: pullHead + "request:\n  url: http://x\n  proxy: maybe\n",
             expected: ["jobs/a.yml:5:10: error: expected true or false for 'request.proxy', found 'maybe'"]),
        Case(name: "success code that is not a number", path: "jobs/a.yml",
             text: pullHead + "request:\n  url: http://x\n  success_codes: [200, abc]\n",
             expected: ["jobs/a.yml:5:24: error: expected an integer for 'request.success_codes', found 'abc'"]),
        Case(name: "success code out of range", path: "jobs/a.yml",
             text: pullHead + "request:\n  url: http://x\n  success_codes: [99]\n",
             expected: ["jobs/a.yml:5:19: error: 'request.success_codes' must be between 100 and 599, found 99"]),
        Case(name: "unknown HTTP method", path: "jobs/a.yml",
             text: pullHead + "request:\n  method: FETCH\n  url: http://x\n",
             expected: ["jobs/a.yml:4:11: error: invalid HTTP method 'FETCH' (expected one of: GET, POST, PUT, PATCH, DELETE, HEAD)"]),
        Case(name: "request that is a string", path: "jobs/a.yml",
             text: pullHead + "request: http://x\n",
             expected: ["jobs/a.yml:3:10: error: expected a mapping for 'request', found 'http://x'"]),
        Case(name: "$parent outside children", path: "jobs/a.yml",
             text: pullHead + "request: { url: 'http://x' }\nfields:\n  id: $parent.id\n",
             expected: ["jobs/a.yml:5:7: error: '$parent' is only available in 'children' mappings",
                        "jobs/a.yml:4:1: error: key field 'id' of worksheet 'orders' is not mapped in 'fields'; every row needs its key"]),
        Case(name: "record reference in a pull job", path: "jobs/a.yml",
             text: pullHead + "request:\n  url: \"http://x/{{record.id}}\"\n",
             expected: ["jobs/a.yml:4:18: error: '{{record.id}}' is only available in push jobs; a pull job has no current record"]),
        Case(name: "literal credential in a header", path: "jobs/a.yml",
             text: pullHead + "request:\n  url: http://x\n  headers:\n    Authorization: Bearer abc123\n",
             expected: ["jobs/a.yml:6:20: error: header 'Authorization' holds a literal credential; job files live in git, so use a secret such as '{{secret.API_TOKEN}}'"]),
        Case(name: "secret without a name", path: "jobs/a.yml",
             text: pullHead + "request:\n  url: http://x\n  headers:\n    Authorization: \"Bearer {{secret}}\"\n",
             expected: ["jobs/a.yml:6:30: error: invalid template 'Bearer {{secret}}': 'secret' needs a name, as in '{{secret.SHOP_TOKEN}}'"]),
        Case(name: "body with two forms", path: "jobs/a.yml",
             text: pullHead + "request:\n  method: POST\n  url: http://x\n  body:\n    json: { a: 1 }\n    raw: hello\n",
             expected: ["jobs/a.yml:7:5: error: 'request.body' has json and raw; a body has exactly one form"]),
        Case(name: "body: record in a pull job", path: "jobs/a.yml",
             text: pullHead + "request:\n  method: POST\n  url: http://x\n  body: record\n",
             expected: ["jobs/a.yml:6:9: error: 'body: record' sends the record being pushed and is only available in push jobs"]),
        Case(name: "misspelt pagination style", path: "jobs/a.yml",
             text: pullHead + "request: { url: 'http://x' }\npaginate: { style: pages }\n",
             expected: ["jobs/a.yml:4:20: error: invalid value 'pages' for 'paginate.style', did you mean 'page'? (expected one of: page, offset, cursor, next_url, link_header)"]),
        Case(name: "cursor pagination without next", path: "jobs/a.yml",
             text: pullHead + "request: { url: 'http://x' }\npaginate:\n  style: cursor\n  param: after\n",
             expected: ["jobs/a.yml:5:3: error: paginate style 'cursor' needs 'next', the JSON path of the next token in the response"]),
        Case(name: "child worksheet missing", path: "jobs/a.yml",
             text: pullHead + "request: { url: 'http://x' }\nchildren:\n  - worksheet: items\n    records: $.items\n    fields: { sku: $.sku }\n",
             expected: ["jobs/a.yml:5:16: error: worksheet 'items' is not defined in schema/"]),
        Case(name: "children not linked to the parent key", path: "jobs/a.yml",
             text: pullHead + "request: { url: 'http://x' }\nchildren:\n  - worksheet: order_items\n    records: $.items\n    fields: { sku: $.sku }\n",
             expected: ["jobs/a.yml:7:13: error: children in 'order_items' must map 'orders' key field 'id' from the parent, such as 'order_id: $parent.id'; it links each row to its parent"]),
        Case(name: "reference to a step that does not exist", path: "jobs/a.yml",
             text: pullHead + "steps:\n  - name: auth\n    request: { method: POST, url: 'http://x/login' }\n    values: { token: $.token }\nrequest:\n  url: http://x\n  headers: { Authorization: \"Bearer {{steps.auht.token}}\" }\n",
             expected: ["jobs/a.yml:9:37: error: '{{steps.auht.token}}' names step 'auht', which is not an earlier step (not per_record), did you mean 'auth'?"]),
        Case(name: "per_record step without fields", path: "jobs/a.yml",
             text: pullHead + "steps:\n  - name: ship\n    per_record: true\n    request: { url: 'http://x/{{record.id}}' }\nrequest: { url: 'http://x' }\n",
             expected: ["jobs/a.yml:4:5: error: per_record step 'ship' needs 'fields': the worksheet fields it fills from its response"]),
        Case(name: "invalid cron expression", path: "jobs/a.yml",
             text: pullHead + "schedule: \"0 25 * * *\"\nrequest: { url: 'http://x' }\n",
             expected: ["jobs/a.yml:3:14: error: invalid schedule '0 25 * * *': 25 is out of range 0-23 in the hour field"]),
        Case(name: "misspelt push operation", path: "jobs/p.yml",
             text: "kind: push\nworksheet: purchase_requests\non: [insrt, update]\nrequest: { url: 'http://x' }\n",
             expected: ["jobs/p.yml:3:6: error: invalid value 'insrt' for 'on', did you mean 'insert'? (expected one of: insert, update, delete)"]),
        Case(name: "multipart body in a push job", path: "jobs/p.yml",
             text: "kind: push\nworksheet: purchase_requests\nrequest:\n  url: 'http://x'\n  body:\n    multipart: { file: x }\n",
             expected: ["jobs/p.yml:6:16: error: a push job sends each record as 'body: record', json, form or raw; 'multipart' bodies are for pull requests"]),
        Case(name: "batch with a record in the URL", path: "jobs/p.yml",
             text: "kind: push\nworksheet: purchase_requests\nrequest: { url: 'http://x/{{record.id}}' }\ndelivery:\n  batch_size: 50\n",
             expected: ["jobs/p.yml:5:3: error: 'delivery.batch_size: 50' sends many records in one request, so the URL, query and headers cannot use '{{record.…}}'; use batch_size 1 or move the record's values into the body"]),
        Case(name: "batch with write_back and a form body", path: "jobs/p.yml",
             text: "kind: push\nworksheet: purchase_requests\nrequest:\n  url: 'http://x'\n  body: { form: { id: '{{record.id}}' } }\ndelivery: { batch_size: 2 }\nwrite_back:\n  erp_id: $.id\n",
             expected: ["jobs/p.yml:6:11: error: 'delivery.batch_size: 2' sends a JSON array; use 'body: record' or a json body (one element per record), or batch_size 1",
                        "jobs/p.yml:6:11: error: 'write_back' maps one response into one record, and a batch's response answers 2 records; use batch_size 1 with write_back"]),
        Case(name: "write_back to a missing field", path: "jobs/p.yml",
             text: "kind: push\nworksheet: purchase_requests\nrequest: { url: 'http://x' }\nwrite_back:\n  erp: $.id\n",
             expected: ["jobs/p.yml:5:3: error: field 'erp' is not in worksheet 'purchase_requests', did you mean 'erp_id'?"]),
        Case(name: "push template naming a missing field", path: "jobs/p.yml",
             text: "kind: push\nworksheet: purchase_requests\nrequest:\n  url: \"http://x/{{record.ident}}\"\n",
             expected: ["jobs/p.yml:4:18: error: '{{record.ident}}' names field 'ident', which is not in worksheet 'purchase_requests'"]),
        Case(name: "signing secret that is not a secret", path: "jobs/p.yml",
             text: "kind: push\nworksheet: purchase_requests\nrequest: { url: 'http://x' }\ndelivery:\n  signing_secret: hunter2\n",
             expected: ["jobs/p.yml:5:19: error: 'delivery.signing_secret' must come from a secret, as in '{{secret.ERP_SIGNING_KEY}}'"]),
        Case(name: "unknown time zone", path: "jobs/a.yml",
             text: pullHead + "timezone: Mars/Olympus\nrequest: { url: 'http://x' }\n",
             expected: ["jobs/a.yml:3:11: error: unknown time zone 'Mars/Olympus'; use an IANA name such as 'Europe/Berlin' or 'UTC'"]),
        Case(name: "duplicate key (shown where it repeats)", path: "jobs/a.yml",
             text: pullHead + "request: { url: 'http://x' }\nrecords: $.a\nrecords: $.b\n",
             expected: ["jobs/a.yml:5:1: error: duplicate key 'records'; each key may appear once"]),
        Case(name: "empty job file", path: "jobs/a.yml", text: "",
             expected: ["jobs/a.yml:1:1: error: the file is empty; a job needs at least 'kind', 'worksheet' and 'request'"]),
        Case(name: "YAML syntax error", path: "jobs/a.yml",
             text: pullHead + "request: { url: 'http://x'\nrecords: $.data\n",
             expected: ["jobs/a.yml:4:1: error: YAML syntax error: did not find expected ',' or '}' while parsing a flow mapping that starts at line 3, column 10"]),
        Case(name: "file name that is not a job name", path: "jobs/my job.yml",
             text: pullHead + "request: { url: 'http://x' }\n",
             expected: ["jobs/my job.yml:1:1: error: job name 'my job' (from the file name) may only use letters, digits, '-' and '_'; rename the file"]),
        // schema/
        Case(name: "unknown field type", path: "schema/c.yml",
             text: "key: [id]\nfields:\n  id: text\n  price: decmal\n",
             expected: ["schema/c.yml:4:10: error: unknown type 'decmal' for field 'price', did you mean 'decimal'? (types: text, integer, number, decimal, boolean, date, datetime, json)"]),
        Case(name: "missing key", path: "schema/c.yml",
             text: "fields:\n  id: text\n",
             expected: ["schema/c.yml:1:1: error: missing required key 'key' (the fields that identify a record, such as 'key: [id]')"]),
        Case(name: "key field not among the fields", path: "schema/c.yml",
             text: "key: [ident]\nfields:\n  id: text\n",
             expected: ["schema/c.yml:1:7: error: key field 'ident' is not one of the worksheet's fields"]),
        Case(name: "field name with the reserved prefix", path: "schema/c.yml",
             text: "key: [id]\nfields:\n  id: text\n  _source: text\n",
             expected: ["schema/c.yml:4:3: error: field name '_source' starts with '_', which is reserved for sheetsync's system columns"]),
        Case(name: "field name with a dash", path: "schema/c.yml",
             text: "key: [id]\nfields:\n  id: text\n  order-no: integer\n",
             expected: ["schema/c.yml:4:3: error: invalid field name 'order-no'; use letters, digits and '_', not starting with a digit"]),
        Case(name: "misspelt fields key", path: "schema/c.yml",
             text: "key: [id]\nfeilds:\n  id: text\n",
             expected: ["schema/c.yml:2:1: error: unknown key 'feilds', did you mean 'fields'?",
                        "schema/c.yml:1:1: error: missing required key 'fields' (the worksheet's columns, such as 'id: text')"]),
        Case(name: "json key field", path: "schema/c.yml",
             text: "key: [doc]\nfields:\n  doc: json\n",
             expected: ["schema/c.yml:1:6: error: key field 'doc' has type json; key fields must be text, integer, decimal, date or datetime"]),
        Case(name: "misspelt on_stale_resume (issue 15)", path: "jobs/a.yml",
             text: pullHead + "request: { url: 'http://x' }\npaginate: { style: cursor, param: after, next: $.next, on_stale_resume: restrat }\n",
             expected: ["jobs/a.yml:4:73: error: invalid value 'restrat' for 'paginate.on_stale_resume', did you mean 'restart'? (expected one of: fail, restart)"]),
        // sheetsync.yml
        Case(name: "misspelt settings key", path: "sheetsync.yml",
             text: "databse: x.db\nenv:\n  SHOP_URL: http://127.0.0.1:9\n",
             expected: ["sheetsync.yml:1:1: error: unknown key 'databse', did you mean 'database'?"]),
        Case(name: "literal proxy password", path: "sheetsync.yml",
             text: "env:\n  SHOP_URL: http://127.0.0.1:9\nproxy:\n  url: http://127.0.0.1:3128\n  password: hunter2\n",
             expected: ["sheetsync.yml:5:13: error: 'proxy.password' is a literal; use a secret such as '{{secret.PROXY_PASSWORD}}'"]),
    ]

    @Test(arguments: cases)
    func reportsExactProblems(_ example: Case) throws {
        var files = TestProject.baseFiles
        files[example.path] = example.text
        let project = try TestProject(files: files)
        let loaded = ProjectLoader.load(directory: project.directory, environment: ["SHOP_TOKEN": "t"])
        let reported = loaded.diagnostics.filter { $0.file == example.path }.map(\.description)
        #expect(reported.sorted() == example.expected.sorted())
        // Nothing else in the project is blamed.
        #expect(loaded.diagnostics.allSatisfy { $0.file == example.path })
    }

    /// Issue 15, item 5: past SQLite's column limit `validate` said ok and every run failed
    /// with "too many columns"; the limit is now named at the file's `fields`.
    @Test func aWorksheetPastTheColumnLimitIsRefusedWithTheLimitNamed() throws {
        let fields = (0...WorksheetDefinition.maxFields).map { "  f\($0): text" }.joined(separator: "\n")
        var files = TestProject.baseFiles
        files["schema/wide.yml"] = "key: [f0]\nfields:\n" + fields + "\n"
        let project = try TestProject(files: files)
        let loaded = ProjectLoader.load(directory: project.directory, environment: ["SHOP_TOKEN": "t"])
        #expect(loaded.diagnostics.map(\.description) == [
            "schema/wide.yml:3:3: error: 'fields' has 1997 fields; a worksheet holds at most 1996 (SQLite's limit of 2,000 columns less sheetsync's 4 system columns): split it into worksheets that share the key",
        ])
        // At the limit it loads.
        files["schema/wide.yml"] = "key: [f0]\nfields:\n" + fields.split(separator: "\n").dropLast().joined(separator: "\n") + "\n"
        let atLimit = try TestProject(files: files)
        #expect(ProjectLoader.load(directory: atLimit.directory, environment: ["SHOP_TOKEN": "t"]).diagnostics.isEmpty)
    }

    @Test func theTableIsLargeEnough() {
        #expect(Self.cases.count >= 25)
        #expect(Set(Self.cases.map(\.name)).count == Self.cases.count)
    }

    @Test func reportsEveryProblemOfAFileInOnePass() throws {
        let text = """
            kind: pull
            worksheet: orders
            request:
              method: FETCH
              urll: "{{env.NOPE}}"
              timeout: soon
            fields:
              id: $.id
              totl: $..x
            """
        var files = TestProject.baseFiles
        files["jobs/many.yml"] = text
        let project = try TestProject(files: files)
        let loaded = ProjectLoader.load(directory: project.directory, environment: [:])
        #expect(loaded.errors.map(\.description) == [
            "jobs/many.yml:4:3: error: missing required key 'url' in 'request'",
            "jobs/many.yml:4:11: error: invalid HTTP method 'FETCH' (expected one of: GET, POST, PUT, PATCH, DELETE, HEAD)",
            "jobs/many.yml:5:3: error: unknown key 'urll' in 'request', did you mean 'url'?",
            "jobs/many.yml:6:12: error: invalid duration 'soon': expected a number at 'soon'; expected forms like '10s', '500ms', '5m', '1h30m' for 'request.timeout'",
            "jobs/many.yml:9:3: error: field 'totl' is not in worksheet 'orders', did you mean 'total'?",
        ])
        #expect(loaded.jobs.isEmpty)
    }
}
