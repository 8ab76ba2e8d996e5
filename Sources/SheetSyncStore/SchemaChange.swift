import SheetSyncCore

/// One change that `migrate` makes (or would make) to a worksheet table.
public struct SchemaChange: Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case createTable
        case addField(String, FieldType)
        /// A column a user added by hand with the same name: recorded, not altered.
        case adoptColumn(String, FieldType)
        case removeField(String)
        /// `convertingAll`: a value that does not convert stops the migration (nothing changes)
        /// instead of becoming NULL (PostgreSQL's casts; SQLite's conversion makes it NULL).
        case retypeField(String, from: FieldType, to: FieldType, convertingAll: Bool = false)
        case changeKey(from: [String], to: [String])
    }

    public var worksheet: String
    public var kind: Kind
    /// The SQL that carries the change out, for `migrate --dry-run`.
    public var statements: [String]

    public init(worksheet: String, kind: Kind, statements: [String]) {
        self.worksheet = worksheet
        self.kind = kind
        self.statements = statements
    }

    /// Removing or retyping a field, or changing the key, can lose data and needs
    /// `--allow-destructive`.
    public var isDestructive: Bool {
        switch kind {
        case .removeField, .retypeField, .changeKey: true
        case .createTable, .addField, .adoptColumn: false
        }
    }

    /// A one-line account for people.
    public var description: String {
        switch kind {
        case .createTable: "create worksheet '\(worksheet)'"
        case .addField(let name, let type): "add field '\(name)' (\(type.rawValue)) to '\(worksheet)'"
        case .adoptColumn(let name, let type): "adopt existing column '\(name)' (\(type.rawValue)) of '\(worksheet)'"
        case .removeField(let name): "remove field '\(name)' from '\(worksheet)' (its data is deleted)"
        case .retypeField(let name, let from, let to, let convertingAll):
            "change field '\(name)' of '\(worksheet)' from \(from.rawValue) to \(to.rawValue) "
                + (convertingAll ? "(a value that cannot be converted stops the migration, which then changes nothing)" : "(values that cannot be converted become NULL)")
        case .changeKey(let from, let to):
            "change the key of '\(worksheet)' from [\(from.joined(separator: ", "))] to [\(to.joined(separator: ", "))]"
        }
    }
}

/// Everything `migrate` would do for a set of worksheets.
public struct SchemaPlan: Sendable {
    public var changes: [SchemaChange]
    /// Worksheet tables sheetsync created whose schema file is gone. They are left
    /// alone: sheetsync never drops a worksheet table.
    public var orphanedWorksheets: [String]

    public init(changes: [SchemaChange], orphanedWorksheets: [String]) {
        self.changes = changes
        self.orphanedWorksheets = orphanedWorksheets
    }

    public var isEmpty: Bool { changes.isEmpty }
    public var destructiveChanges: [SchemaChange] { changes.filter(\.isDestructive) }

    /// Throws when a key change would strand changes push jobs have not delivered yet:
    /// their record keys would no longer find their rows. `undelivered` counts, for a
    /// worksheet and the push jobs reading it, the changes each job still has to deliver.
    public func refuseStrandingChanges(captured: Set<String>, pushJobs: [String: String],
                                       undelivered: (String, [String]) throws -> [(job: String, count: Int)]) throws {
        let rekeyed = Set(changes.filter { if case .changeKey = $0.kind { return true } else { return false } }.map(\.worksheet))
        for worksheet in rekeyed.sorted() where captured.contains(worksheet) {
            let readers = pushJobs.filter { $0.value == worksheet }.map(\.key).sorted()
            let waiting = try undelivered(worksheet, readers)
            guard !waiting.isEmpty else { continue }
            let list = waiting.map { "  - \($0.job): \($0.count) change\($0.count == 1 ? "" : "s")" }.joined(separator: "\n")
            let first = waiting[0].job
            throw StoreError(.destructiveChange, """
                Refusing to change the key of worksheet '\(worksheet)' while push jobs have changes to it not yet delivered:
                \(list)
                Their record keys would not find their rows after the change (an update would be sent as a delete). Deliver them first ('sheetsync push \(first) --wait 5m'), or give them up on purpose ('sheetsync push \(first) --drop-pending'), then migrate again. Nothing was changed.
                """)
        }
    }

    /// Throws when the plan can lose data and `allowDestructive` is false, naming each change.
    public func refuseDestructive(unless allowDestructive: Bool) throws(StoreError) {
        let destructive = destructiveChanges
        guard !destructive.isEmpty, !allowDestructive else { return }
        let list = destructive.map { "  - " + $0.description }.joined(separator: "\n")
        throw StoreError(.destructiveChange, """
            Refusing to change worksheet tables in a way that can lose data:
            \(list)
            Restore the field in schema/, or run 'sheetsync migrate --allow-destructive' to apply these changes (preview them with --dry-run).
            """)
    }

    /// The SQL of every change, in order, as a script.
    public var sql: String {
        changes.map { change in
            "-- \(change.description)\n" + change.statements.map { $0 + ";" }.joined(separator: "\n")
        }.joined(separator: "\n\n")
    }
}
