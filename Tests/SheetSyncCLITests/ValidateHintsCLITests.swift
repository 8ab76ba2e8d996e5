import Foundation
import Testing

/// Issue 18, `validate`: the YAML mistakes people make most get a hint, a duplicate key is
/// shown where it repeats, a job on a worksheet whose schema file is broken says so, and a
/// schedule that never fires is refused.
struct ValidateHintsCLITests {
    @Test func validateExplainsTheMistakesItFinds() throws {
        let project = try ProjectDirectory(files: [
            "schema/sales.yml": "key: [id]\nfields:\n  id: txt\n  name: text\n",
            "schema/notes.yml": "key: [id]\nfields:\n  id: text\n  name: text\n",
            "jobs/dup.yml": "kind: pull\nworksheet: notes\nrequest: { url: 'http://x' }\nfields: { id: $.id, name: $.name, id: $.other }\n",
            "jobs/braces.yml": "kind: pull\nworksheet: notes\nrequest:\n  url: {{env.X}}/a\n",
            "jobs/tab.yml": "kind: pull\nworksheet: notes\nrequest:\n\turl: http://x\n",
            "jobs/broken-sheet.yml": "kind: pull\nworksheet: sales\nrequest: { url: 'http://x' }\n",
            "jobs/never.yml": "kind: pull\nworksheet: notes\nschedule: '0 0 30 2 *'\nrequest: { url: 'http://x' }\n",
            "jobs/leap.yml": "kind: pull\nworksheet: notes\nschedule: '0 0 29 2 *'\nrequest: { url: 'http://x' }\n",
        ])
        let result = try CLI.run(["validate", "--project", project.url.path])
        #expect(result.status == 1)
        let out = result.stdout + result.stderr
        #expect(out.contains("jobs/dup.yml:4:35: error: duplicate key 'id'"), "\(out)")
        #expect(out.contains(#"jobs/braces.yml:4:"#) && out.contains(#"a value that starts with '{{' must be quoted, or YAML reads it as a mapping: url: "{{env.X}}/a""#), "\(out)")
        #expect(out.contains("jobs/tab.yml:4:") && out.contains("line 4 is indented with a tab; YAML indents with spaces only"), "\(out)")
        #expect(out.contains("jobs/broken-sheet.yml:2:12: error: worksheet 'sales' could not be read: schema/sales.yml has errors"), "\(out)")
        #expect(!out.contains("worksheet 'sales' is not defined"), "\(out)")
        #expect(out.contains("jobs/never.yml:3:") && out.contains("it never fires, no month of Feb has a day 30"), "\(out)")
        #expect(!out.contains("jobs/leap.yml"), "February 29th fires in leap years: \(out)")
    }
}
