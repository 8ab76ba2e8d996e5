/// The SQLite store is the default `WorksheetStore`; its methods are the requirements.
extension WorksheetDatabase: WorksheetStore {
    public var location: String { path }
    public var sqlite: WorksheetDatabase? { self }

    public func query(sql: String, allowWrite: Bool) throws(StoreError) -> QueryResult {
        try Self.query(path: path, sql: sql, allowWrite: allowWrite)
    }
}
