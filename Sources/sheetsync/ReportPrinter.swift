import SheetSyncCore
import SheetSyncRunner

/// Formats previews for `run --dry-run` and `test`.
enum ReportPrinter {
    static let previewRows = 10

    static func printRequest(_ report: PreviewReport) {
        guard let request = report.request else { return }
        Output.out("\(request.method) \(request.url)")
        for header in request.headers { Output.out("\(header.name): \(header.value)") }
        if let body = request.body { Output.out("\n" + body) }
    }

    static func printRows(_ report: PreviewReport, verb: String) {
        guard let page = report.page else { return }
        let batches: [(String, RowBatch)] = [(report.worksheets.first?.name ?? "rows", page.rows)]
            + page.children.map { ($0.worksheet, $0.rows) }
        for (name, batch) in batches {
            Output.out("\n\(name): \(verb) \(batch.rows.count) row\(batch.rows.count == 1 ? "" : "s")\(batch.rows.count > previewRows ? " (first \(previewRows) shown)" : "")")
            if !batch.rows.isEmpty {
                // Masked before the table clips its cells: a pulled value may echo a secret.
                let cells = batch.rows.prefix(previewRows).map { $0.map { report.redactor.redact(TextTable.cell($0)) } }
                Output.out(TextTable.render(header: batch.columns, rows: cells))
            }
        }
        if !page.rejects.isEmpty {
            Output.out("\n\(page.rejects.count) record(s) would be rejected:")
            for reject in page.rejects.prefix(previewRows) { Output.out("  \(reject.worksheet): \(report.redactor.redact(reject.reason))") }
        }
    }

    static func printDryRun(_ report: PreviewReport) {
        Output.out("# dry run: nothing is written")
        printRequest(report)
        if let response = report.response {
            Output.out("\n# response: HTTP \(response.status), \(response.bodyCount) bytes, \(report.records.count) record(s)")
        }
        printRows(report, verb: "would write")
        if let error = report.error { Output.err("error: \(error)") }
    }

    static func printTest(_ report: PreviewReport) {
        printRequest(report)
        if let response = report.response {
            Output.out("\nHTTP \(response.status)")
            for header in response.headers { Output.out("\(header.name): \(report.redactor.redact(header.value))") }
            // Masked before anything is cut (by bytes or by lines).
            let text: String
            if response.bodyCount == 0 {
                text = "(no body)"
            } else if let document = report.document {
                text = report.redactor.redact(document.prettyText())
            } else {
                text = report.redactor.excerpt(bytes: response.body, limit: 4000)
            }
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            Output.out("")
            Output.out(lines.prefix(40).joined(separator: "\n"))
            if lines.count > 40 { Output.out("… (\(lines.count - 40) more lines, \(response.bodyCount) bytes in all)") }
        }
        printRows(report, verb: "Get Multiple Data gives")
        if let error = report.error { Output.err("error: \(error)") }
    }
}
