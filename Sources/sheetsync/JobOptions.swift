import ArgumentParser
import SheetSyncRunner

/// The job a command works on, and the `--param key=value` values for its templates:
/// shared by `run`, `test` and `backfill`.
struct JobOptions: ParsableArguments {
    @Argument(help: "The job: the name of a file in jobs/ without .yml.")
    var job: String

    @Option(name: .customLong("param"),
            help: ArgumentHelp("A value for {{param.KEY}} (repeatable).", valueName: "key=value"),
            transform: JobParameter.parse)
    var parameters: [JobParameter] = []

    /// The `--param` values by key; a key given twice keeps its last value.
    var params: [String: String] {
        var params: [String: String] = [:]
        for parameter in parameters { params[parameter.key] = parameter.value }
        return params
    }
}

extension JobContext {
    /// The project, job and runner for the job and `--param` values of `options`.
    init(global: GlobalOptions, options: JobOptions, createDatabase: Bool = true, progress: (@Sendable (RunProgress) -> Void)? = nil) throws {
        try self.init(global: global, jobName: options.job, params: options.params, createDatabase: createDatabase, progress: progress)
    }
}
