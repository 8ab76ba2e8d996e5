/// `write:` in a pull job or one of its `children`: what a record does to the row with
/// its key ("Add Record" versus "Update Record" in the reference product).
///
/// In every mode a row is only written when a value differs: an unchanged row keeps
/// its `_updated_at` and captures no change for push jobs.
public enum WriteMode: String, Sendable, Hashable, CaseIterable {
    /// A new key inserts a row; an existing key updates the columns that differ. For
    /// children, each parent's child rows are replaced: rows the parent no longer lists
    /// are deleted.
    case upsert
    /// Only new keys: a record whose key exists leaves the row untouched (even when the
    /// response differs) and counts as unchanged. Children are only added: none is
    /// updated or deleted.
    case insert
    /// Only existing keys: a record whose key exists updates the columns that differ; a
    /// record whose key does not exist is not written and counts as skipped (not
    /// rejected), and so are its children. Children are updated, never deleted.
    case update
}
