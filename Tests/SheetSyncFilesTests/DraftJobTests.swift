import Foundation
import SheetSyncCore
import SheetSyncFiles
import Testing

/// `ProjectLoader.loadDraftJob`: the job file `sheetsync infer` reads, whose worksheets
/// may not have a schema file yet (issue 16, item 4).
struct DraftJobTests {
    @Test func aJobNamingNewWorksheetsLoadsAsADraft() throws {
        let project = try TestProject(files: [
            "jobs/new.yml": """
                # a comment
                kind: pull
                worksheet: brand_new
                request: { url: "{{env.SHOP_URL}}/things" }
                records: $.data
                children:
                  - { worksheet: new_parts, records: $.parts, fields: { part: $.id } }
                """,
            "jobs/flow.yml": "{kind: pull, worksheet: other, request: {url: \"http://127.0.0.1:9/x\"}}\n",
            "jobs/broken.yml": "kind: pull\nworksheet: brand_new\nrequest: { urll: \"http://127.0.0.1:9/x\" }\n",
            "sheetsync.yml": "env:\n  SHOP_URL: http://127.0.0.1:9\n",
        ])
        let loaded = ProjectLoader.load(directory: project.directory, environment: [:])
        // As a project, the job is invalid: its worksheets are not defined.
        #expect(loaded.job(named: "new") == nil)
        #expect(loaded.errors.contains { $0.file == "jobs/new.yml" && $0.message.contains("worksheet 'brand_new' is not defined") })

        let draft = try #require(ProjectLoader.loadDraftJob(named: "new", in: loaded))
        #expect(draft.diagnostics.isEmpty, "\(draft.diagnostics)")
        let job = try #require(draft.job)
        #expect(job.worksheet == "brand_new")
        guard case .pull(let pull) = job.kind else { Issue.record("not a pull job"); return }
        #expect(pull.records.text == "$.data")
        #expect(pull.children.map(\.worksheet) == ["new_parts"])
        #expect(draft.keys == ["kind", "worksheet", "request", "records", "children"])
        #expect(draft.isBlockMapping)
        #expect(draft.file == "jobs/new.yml" && draft.text.hasPrefix("# a comment\n"))

        let flow = try #require(ProjectLoader.loadDraftJob(named: "flow", in: loaded))
        #expect(flow.job != nil && !flow.isBlockMapping)

        // Other problems still count, with their positions.
        let broken = try #require(ProjectLoader.loadDraftJob(named: "broken", in: loaded))
        #expect(broken.job == nil)
        #expect(broken.diagnostics.contains { $0.message.contains("unknown key 'urll'") }, "\(broken.diagnostics)")
        #expect(ProjectLoader.loadDraftJob(named: "missing", in: loaded)?.file == nil)
    }
}
