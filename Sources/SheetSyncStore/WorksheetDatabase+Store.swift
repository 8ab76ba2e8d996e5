/// The SQLite store is the default `WorksheetStore`; its methods are the requirements.
extension WorksheetDatabase: WorksheetStore {
    public var location: String { path }

    public func query(sql: String, allowWrite: Bool) throws(StoreError) -> QueryResult {
        try Self.query(path: path, sql: sql, allowWrite: allowWrite)
    }
}

/// An SQLite file is run by one daemon at a time (`DatabaseLock`), so every claim is its own.
extension WorksheetDatabase: SharedWork {
    public func checkInPlace() throws(StoreError) { try checkFileInPlace() }
    public var sharesWork: Bool { false }
    public func claimFire(job: String, tick: String) throws(StoreError) -> Bool { true }
    public func tryLock(_ name: String) throws(StoreError) -> Bool { true }
    public func unlock(_ name: String) throws(StoreError) {}
    public func heartbeat(takingOver: Bool) throws(StoreError) -> [String] { [] }
    public func nodes() throws(StoreError) -> [NodeRecord] { [] }
    public func leave() throws(StoreError) {}
    public func changeNotifications() -> AsyncThrowingStream<String, any Error>? { nil }
}
