import GRDB

extension WorksheetDatabase {
    /// The parameter values `sheetsync test` last used for `job`, by name.
    public func testValues(job: String) throws(StoreError) -> [String: String] {
        try read { db in
            var values: [String: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT name, value FROM _sheetsync_test_values WHERE job = ?", arguments: [job]) {
                values[row[0]] = row[1]
            }
            return values
        }
    }

    /// Remembers the parameter values a test of `job` used (a blank is a value too).
    public func saveTestValues(_ values: [String: String], job: String) throws(StoreError) {
        try write { db in
            for (name, value) in values {
                try db.execute(sql: """
                    INSERT INTO _sheetsync_test_values (job, name, value) VALUES (?, ?, ?)
                    ON CONFLICT (job, name) DO UPDATE SET value = excluded.value, used_at = excluded.used_at
                    """, arguments: [job, name, value])
            }
        }
    }
}
