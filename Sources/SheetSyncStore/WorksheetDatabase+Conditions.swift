import GRDB
import SheetSyncCore

extension WorksheetDatabase {
    /// Why a push job's `when` condition cannot run against `worksheet`, or nil when it
    /// can: the condition is compiled (never run) against an empty in-memory copy of the
    /// worksheet's table, exactly as a push pass uses it, so `validate` reports bad SQL,
    /// unknown columns and extra statements before any change waits on it.
    public static func conditionProblem(_ condition: String, in worksheet: WorksheetDefinition) -> String? {
        do {
            let queue = try DatabaseQueue()
            return try queue.write { db in
                try db.execute(sql: WorksheetTable(worksheet: worksheet).createSQL())
                let columns = worksheet.fields.map { SQL.quote($0.name) }.joined(separator: ", ")
                _ = try db.makeStatement(sql: "SELECT \(columns), (\(condition)) FROM \(SQL.quote(worksheet.name))")
                return nil
            }
        } catch let error as DatabaseError {
            return "'when' is not a valid SQL condition over worksheet '\(worksheet.name)': \(error.message ?? "\(error)"). Write an SQL expression over its columns, such as \"status = 'approved'\"."
        } catch {
            return "'when' could not be checked: \(error)"
        }
    }
}
