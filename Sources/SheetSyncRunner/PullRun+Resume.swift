import SheetSyncCore
import SheetSyncHTTP

/// A resume position the server no longer accepts (issue 15, item 4): a cursor token or
/// next-page URL that expired while the interrupted run waited. Without this, every later
/// run resumed at the same position and failed with only the server's message.
extension PullRun {
    /// Statuses that say nothing about the position: credentials and rate limits.
    static let statusesUnrelatedToPosition: Set<Int> = [401, 403, 407, 429]

    /// Whether `error` is the server refusing the saved position: a 4xx (see
    /// `statusesUnrelatedToPosition`) on the first page of a resumed run.
    func isStaleResume(_ error: HTTPStepError) -> Bool {
        guard let resumedFrom, position == resumedFrom, summary.pages == 0,
              error.code == .status, let status = error.status, (400...499).contains(status) else { return false }
        return !Self.statusesUnrelatedToPosition.contains(status)
    }

    /// `on_stale_resume: fail` (the default): the server's answer, the saved position, and
    /// the ways out. The position is kept: the job's owner decides.
    func staleResumeFailure(_ error: HTTPStepError) -> JobRunner.RunFailure {
        let saved = redactor.redact(position.description)
        var ways = "run 'sheetsync state \(job.name) --reset' to start over from the first page"
        if pull.incremental != nil, let cursor = freshStart.cursorMax {
            ways += " (that also forgets the incremental cursor; 'sheetsync state \(job.name) --set cursor=\(cursor)' starts over and keeps it)"
        }
        let message = "Unable to resume job '\(job.name)' at its saved resume position (\(saved)), \(error.message). "
            + "The server no longer accepts the position an interrupted run saved: \(ways), "
            + "or set 'paginate.on_stale_resume: restart' so the job starts over by itself"
        return JobRunner.RunFailure(error, message: message, continued: continues)
    }

    /// `on_stale_resume: restart`: forgets the saved position (at once, so a failure on the
    /// first page does not bring it back), and goes on as a fresh run would.
    func startOver(after error: HTTPStepError) throws {
        let stale = redactor.redact(position.description)
        resumedFrom = nil
        walker = pull.paginate.map(PageWalker.init)
        position = walker?.first() ?? PagePosition()
        (cursorMax, requestCursor) = freshStart
        values.state[StateKey.cursor] = freshStart.requestCursor
        try database.saveState([StateKey.resumePosition: nil, StateKey.resumeRequestCursor: nil, StateKey.resumeCursorMax: nil], job: job.name)
        let warning = "the saved resume position (\(stale)) was refused with HTTP \(error.status ?? 0); started over from the first page (paginate.on_stale_resume: restart)"
        summary.warnings.append(warning)
        logger.warning("\(warning)")
    }
}
