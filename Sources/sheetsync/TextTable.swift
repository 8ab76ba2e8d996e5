import Foundation
import SheetSyncCore

/// Aligned plain-text tables for people (`query --format table`, `jobs`).
enum TextTable {
    /// Cells longer than this are cut with an ellipsis so rows stay readable.
    static let maxCellWidth = 60

    static func render(header: [String], rows: [[String]]) -> String {
        let rows = rows.map { $0.map(clip) }
        var widths = header.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count {
                widths[index] = max(widths[index], cell.count)
            }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                cell + String(repeating: " ", count: widths[index] - cell.count)
            }.joined(separator: "  ").trimmingTrailingSpaces
        }
        var out = [line(header), widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")]
        out += rows.map(line)
        return out.joined(separator: "\n")
    }

    /// How a SQLite value reads in a table: NULL for null, numbers as written.
    static func cell(_ value: SQLValue) -> String {
        switch value {
        case .null: "NULL"
        case .integer(let v): String(v)
        case .real(let v): "\(v)"
        case .text(let v): v
        case .blob(let bytes): "<\(bytes.count) bytes>"
        }
    }

    private static func clip(_ text: String) -> String {
        let flat = text.replacingOccurrences(of: "\n", with: "\\n")
        return flat.count > maxCellWidth ? String(flat.prefix(maxCellWidth - 1)) + "…" : flat
    }
}

/// RFC 4180 CSV: fields with commas, quotes or line breaks are quoted; NULL is empty.
enum CSVWriter {
    static func render(header: [String], rows: [[SQLValue]]) -> String {
        var lines = [header.map(escape).joined(separator: ",")]
        for row in rows {
            lines.append(row.map { value in
                if case .null = value { return "" }
                return escape(TextTable.cell(value))
            }.joined(separator: ","))
        }
        return lines.joined(separator: "\r\n")
    }

    static func escape(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

extension String {
    var trimmingTrailingSpaces: String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}

