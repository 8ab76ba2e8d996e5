import ArgumentParser
import SheetSyncFiles
import SheetSyncStore

/// `sheetsync migrate`: creates and alters worksheet tables to match schema/.
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create and update worksheet tables to match schema/.",
        discussion: paragraphs("""
            Adding a field adds a column and touches no data. Removing or retyping a field, or
            changing a key, is refused unless --allow-destructive is given; then the other
            columns keep their data and retyped values are converted (NULL where impossible).
            """)
    )

    @OptionGroup var global: GlobalOptions

    @Flag(name: .customLong("dry-run"), help: "Print the SQL that would run, and change nothing.")
    var dryRun = false

    @Flag(name: .customLong("allow-destructive"), help: "Allow removing or retyping fields and changing keys.")
    var allowDestructive = false

    func run() async throws {
        let project = try global.loadProject(blockingOn: isSchemaProblem)
        do {
            if dryRun {
                let plan = global.postgresURL(for: project) != nil
                    ? try global.openStore(for: project).plan(for: project.worksheets)
                    : try WorksheetDatabase.plan(for: project.worksheets, atPath: global.databasePath(for: project))
                if plan.isEmpty {
                    Output.out("-- nothing to change: the tables match schema/")
                } else {
                    Output.out(plan.sql)
                    if !plan.destructiveChanges.isEmpty, !allowDestructive {
                        Output.err("note: \(plan.destructiveChanges.count) change(s) above can lose data and need --allow-destructive.")
                    }
                }
                reportOrphans(plan)
                return
            }
            let database = try global.openStore(for: project)
            let plan = try database.migrate(project.worksheets, allowDestructive: allowDestructive, captured: project.capturedWorksheets, pushJobs: project.pushJobWorksheets)
            if plan.isEmpty {
                Output.out("Up to date: \(project.worksheets.count) worksheet(s) in \(database.location)")
            } else {
                for change in plan.changes { Output.out("- " + change.description) }
                Output.out("Applied \(plan.changes.count) change(s) to \(database.location)")
            }
            reportOrphans(plan)
            warnAboutBrokenJobs(project)
        } catch let error as StoreError {
            Output.err("error: \(error.message)")
            throw ExitCode.failure
        }
    }

    /// A push job whose file has errors is left out of the project, so its worksheet
    /// gets no capture triggers: say so, or rows written meanwhile are silently never pushed.
    private func warnAboutBrokenJobs(_ project: Project) {
        let files = Set(project.errors.map(\.file).filter { $0.hasPrefix("jobs/") }).sorted()
        guard !files.isEmpty else { return }
        Output.err("warning: \(files.joined(separator: ", ")) \(files.count == 1 ? "has" : "have") errors; a push job there gets no change capture until it is fixed, so rows written meanwhile will not be pushed. Run 'sheetsync validate' to see the problems.")
    }

    private func reportOrphans(_ plan: SchemaPlan) {
        for name in plan.orphanedWorksheets {
            Output.err("note: table '\(name)' has no schema file any more; sheetsync leaves it alone (drop it with 'sheetsync query --write \"DROP TABLE \(name)\"' if you no longer need it).")
        }
    }
}
