/// Every name sheetsync uses in `_sheetsync_state` (job, name → value): a few per job,
/// never a list that grows with the data. The one place these names are spelled.
public enum StateKey {
    /// Pull: the incremental cursor, the largest cursor value of a completed run.
    public static let cursor = "cursor"
    /// Pull, while a paginated run is under way: the next page, the cursor value the
    /// run's requests use, and the largest cursor value committed so far.
    public static let resumePosition = "resume.position"
    public static let resumeRequestCursor = "resume.request_cursor"
    public static let resumeCursorMax = "resume.cursor_max"
    /// Push: the last outbox sequence number this job has taken changes from.
    public static let outboxPosition = "outbox.seq"
    /// Push: why the job is stopped (the receiver answered 410 Gone), until `replay`.
    public static let disabled = "disabled"
}
