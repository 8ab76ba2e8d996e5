import ArgumentParser
import Foundation
import SheetSyncCore
import SheetSyncFiles
import SheetSyncTransform

/// What `sheetsync infer` proposes, as file texts: printed, or written without
/// overwriting anything.
struct InferProposal {
    let inferred: InferredWorksheet
    let plan: Infer.Plan
    /// Where the sample came from, for the comments.
    let source: String
    /// Without a job: the URL of a new job file to write.
    let url: String?

    /// `schema/NAME.yml` and its text, for each proposed worksheet.
    var schemaFiles: [(path: String, text: String)] {
        inferred.allWorksheets.map { ("schema/\($0.name).yml", $0.schemaYAML()) }
    }

    /// The job file the mapping goes to, and whether it is a new file.
    var jobFile: (path: String, isNew: Bool)? {
        if let draft = plan.draft { return (draft.file, false) }
        if url != nil { return ("jobs/\(plan.worksheet).yml", true) }
        return nil
    }

    /// Every file `--write` creates or changes.
    var targets: [String] {
        schemaFiles.map(\.path) + (jobFile.map { [$0.path] } ?? [])
    }

    /// The block appended to an existing job file (a comment, `records:` when the job
    /// had none and `--records` gave it, `fields:`, `children:`).
    var jobBlock: String {
        var text = "# fields (and children) proposed by 'sheetsync infer' from \(source): check them\n"
        if plan.addsRecords { text += "records: \(InferredWorksheet.quoted(plan.records.text))\n" }
        return text + inferred.mappingYAML()
    }

    /// A whole new job file, for `--url` without a job.
    var newJob: String {
        """
        # Written by 'sheetsync infer' from \(source): check it, then 'sheetsync validate' and 'sheetsync test \(plan.worksheet)'.
        kind: pull
        worksheet: \(plan.worksheet)
        request:
          url: \(InferredWorksheet.quoted(url ?? ""))
        records: \(InferredWorksheet.quoted(plan.records.text))

        """ + inferred.mappingYAML()
    }

    /// The proposal as printed without `--write`: each file under a `# ==> path <==` line.
    var printed: String {
        var parts = schemaFiles.map { "# ==> \($0.path) <==\n\($0.text)" }
        if let draft = plan.draft {
            parts.append("# ==> \(draft.file): add <==\n\(jobBlock)")
        } else if let jobFile {
            parts.append("# ==> \(jobFile.path) <==\n\(newJob)")
        } else {
            parts.append("# ==> the job's mapping (a job reading this response gets these keys; --url with --write writes one) <==\nrecords: \(InferredWorksheet.quoted(plan.records.text))\n\(inferred.mappingYAML())")
        }
        return parts.joined(separator: "\n").trimmingCharacters(in: .newlines)
    }

    /// Why the proposal cannot be written as it is: each reason names the file and what to do.
    func conflicts(project: Project) -> [String] {
        var problems: [String] = []
        let directory = project.directory
        for sheet in inferred.allWorksheets {
            if sheet.key.isEmpty {
                problems.append("no key for worksheet '\(sheet.name)': \(sheet.missingKeyReason ?? "none given"); \(sheet.parent == nil ? "pass --key FIELD (a proposed field)" : "write its schema and mapping by hand")")
            }
            let files = ["yml", "yaml"].map { "schema/\(sheet.name).\($0)" }
            if let existing = files.first(where: { FileManager.default.fileExists(atPath: directory.appendingPathComponent($0).path) }) {
                problems.append("\(existing) already exists; infer never overwrites a file: compare it with the proposal above and edit it by hand, or move it away and run infer again")
            } else if project.worksheet(named: sheet.name) != nil {
                problems.append("worksheet '\(sheet.name)' is already defined in schema/ (under another file name); infer never overwrites a worksheet: edit it by hand, or rename one of them")
            }
        }
        if let draft = plan.draft {
            let mapped = ["fields", "children"].filter { draft.keys.contains($0) }
            if !mapped.isEmpty {
                problems.append("\(draft.file) already has \(mapped.map { "'\($0):'" }.joined(separator: " and ")); infer never rewrites a job's mapping: compare it with the block above and edit the job by hand")
            } else if !draft.isBlockMapping {
                problems.append("\(draft.file) is written as one flow mapping ('{…}'), which keys cannot be appended to: add the block above by hand")
            }
        } else if let jobFile, FileManager.default.fileExists(atPath: directory.appendingPathComponent(jobFile.path).path) {
            problems.append("\(jobFile.path) already exists; infer never overwrites a job: name it in the command (sheetsync infer \(plan.worksheet) --response FILE) to add a mapping to it, or move it away")
        }
        return problems
    }

    /// Writes the schema files and the job's mapping; refuses (writing nothing) when any
    /// target exists or already has a mapping. Checks the written files as `validate` does.
    func write(project: Project) throws {
        let problems = conflicts(project: project)
        guard problems.isEmpty else {
            Output.out(printed)
            for problem in problems { Output.err("error: \(problem)") }
            Output.err("Nothing was written.")
            throw ExitCode.failure
        }
        let directory = project.directory
        var written: [String] = []
        do {
            try FileManager.default.createDirectory(at: directory.appendingPathComponent("schema"), withIntermediateDirectories: true)
            for file in schemaFiles {
                // withoutOverwriting: a file created since the check above is not replaced either.
                try Data(file.text.utf8).write(to: directory.appendingPathComponent(file.path), options: .withoutOverwriting)
                written.append(file.path)
                Output.out("wrote \(file.path)")
            }
            if let draft = plan.draft {
                try append(jobBlock, to: directory.appendingPathComponent(draft.file), after: draft.text)
                written.append(draft.file)
                Output.out("added \(plan.addsRecords ? "records:, " : "")fields:\(inferred.children.isEmpty ? "" : " and children:") to \(draft.file)")
            } else if let jobFile {
                try FileManager.default.createDirectory(at: directory.appendingPathComponent("jobs"), withIntermediateDirectories: true)
                try Data(newJob.utf8).write(to: directory.appendingPathComponent(jobFile.path), options: .withoutOverwriting)
                written.append(jobFile.path)
                Output.out("wrote \(jobFile.path)")
            } else {
                Output.out("# no job written (pass --url with --write to write one); its mapping:\nrecords: \(InferredWorksheet.quoted(plan.records.text))\n\(inferred.mappingYAML())")
            }
        } catch {
            Output.err("error: Unable to write the proposal, \(error.localizedDescription) (written so far: \(written.isEmpty ? "nothing" : written.joined(separator: ", "))).")
            throw ExitCode.failure
        }
        // What validate would say about the files just written.
        let reloaded = ProjectLoader.load(directory: directory, environment: project.environment)
        let problemsInWritten = reloaded.diagnostics.filter { written.contains($0.file) }
        if Output.report(problemsInWritten) > 0 {
            Output.err("The files above were written but do not validate; fix them (sheetsync validate lists every problem).")
            throw ExitCode.failure
        }
        let jobName = plan.draft.map { URL(fileURLWithPath: $0.file).deletingPathExtension().lastPathComponent } ?? (url != nil ? plan.worksheet : nil)
        let guessed = inferred.allWorksheets.contains { if case .guessed = $0.keySource { true } else { false } }
        Output.err("next: \(guessed ? "check the guessed keys (# key guessed) in schema/, then " : "")sheetsync validate\(jobName.map { "; sheetsync test \($0); sheetsync run \($0)" } ?? "")")
    }

    /// Appends `block` to the job file, after a blank line; the existing text, comments
    /// included, stays as it is. `expected` is the text read before: a file changed since
    /// is left alone.
    private func append(_ block: String, to url: URL, after expected: String) throws {
        let current = String(decoding: try Data(contentsOf: url), as: UTF8.self)
        guard current == expected else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "\(url.lastPathComponent) changed while infer ran; run it again"])
        }
        let separator = current.isEmpty || current.hasSuffix("\n\n") ? "" : current.hasSuffix("\n") ? "\n" : "\n\n"
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data((separator + block).utf8))
    }
}
