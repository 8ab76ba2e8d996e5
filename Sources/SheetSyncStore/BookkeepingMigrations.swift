import GRDB

/// Versioned migrations of sheetsync's own `_sheetsync_*` tables.
///
/// Each migration runs once, in order, inside the caller's transaction, and is
/// recorded in `_sheetsync_migrations`. Never edit a released migration: add one.
/// (GRDB's `DatabaseMigrator` would work too, but it names its table
/// `grdb_migrations`; keeping every table sheetsync owns under `_sheetsync_` makes
/// them easy to tell apart from worksheets in the user's database.)
enum BookkeepingMigrations {
    static let all: [(version: Int, name: String, sql: String)] = [
        (1, "v1-bookkeeping", """
        CREATE TABLE _sheetsync_worksheets (
            name TEXT PRIMARY KEY,
            key TEXT NOT NULL,                -- JSON array of key field names
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
            updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        );
        CREATE TABLE _sheetsync_fields (
            worksheet TEXT NOT NULL REFERENCES _sheetsync_worksheets(name) ON DELETE CASCADE,
            name TEXT NOT NULL,
            type TEXT NOT NULL,
            position INTEGER NOT NULL,
            PRIMARY KEY (worksheet, name)
        );
        CREATE TABLE _sheetsync_schema_changes (
            id INTEGER PRIMARY KEY,
            worksheet TEXT NOT NULL,
            change TEXT NOT NULL,
            sql TEXT NOT NULL,
            applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        );
        CREATE TABLE _sheetsync_runs (
            id INTEGER PRIMARY KEY,
            job TEXT NOT NULL,
            trigger TEXT NOT NULL,            -- cli, schedule, backfill, demo
            started_at TEXT NOT NULL,
            ended_at TEXT,
            status TEXT NOT NULL,             -- running, succeeded, partial, failed
            requests INTEGER NOT NULL DEFAULT 0,
            inserted INTEGER NOT NULL DEFAULT 0,
            updated INTEGER NOT NULL DEFAULT 0,
            unchanged INTEGER NOT NULL DEFAULT 0,
            rejected INTEGER NOT NULL DEFAULT 0,
            deleted INTEGER NOT NULL DEFAULT 0,   -- child rows removed upstream
            details TEXT,                         -- JSON: counts per worksheet, warnings
            error_code TEXT,
            error_message TEXT
        );
        CREATE INDEX _sheetsync_runs_job ON _sheetsync_runs(job, id);
        CREATE TABLE _sheetsync_requests (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES _sheetsync_runs(id) ON DELETE CASCADE,
            method TEXT NOT NULL,
            url TEXT NOT NULL,                -- secrets redacted
            status INTEGER,
            duration_ms INTEGER,
            bytes INTEGER,
            attempt INTEGER NOT NULL DEFAULT 1,
            error TEXT,
            sent_at TEXT NOT NULL
        );
        CREATE INDEX _sheetsync_requests_run ON _sheetsync_requests(run_id);
        CREATE TABLE _sheetsync_rejects (
            id INTEGER PRIMARY KEY,
            job TEXT NOT NULL,
            run_id INTEGER REFERENCES _sheetsync_runs(id) ON DELETE SET NULL,
            worksheet TEXT NOT NULL,
            reason TEXT NOT NULL,
            raw TEXT NOT NULL,
            rejected_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        );
        CREATE TABLE _sheetsync_state (
            job TEXT NOT NULL,
            name TEXT NOT NULL,
            value TEXT,
            updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
            PRIMARY KEY (job, name)
        );
        """),
        (2, "v2-backfills", """
        CREATE TABLE _sheetsync_backfills (
            id INTEGER PRIMARY KEY,
            job TEXT NOT NULL,
            range_from TEXT NOT NULL,
            range_to TEXT NOT NULL,
            step TEXT NOT NULL,
            timezone TEXT NOT NULL,
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
            finished_at TEXT
        );
        CREATE TABLE _sheetsync_backfill_windows (
            backfill_id INTEGER NOT NULL REFERENCES _sheetsync_backfills(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            window_start TEXT NOT NULL,
            window_end TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending',   -- pending, done, failed
            run_id INTEGER,
            rows INTEGER NOT NULL DEFAULT 0,
            finished_at TEXT,
            PRIMARY KEY (backfill_id, position)
        );
        """),
        (3, "v3-step-failures", """
        CREATE TABLE _sheetsync_step_failures (
            id INTEGER PRIMARY KEY,
            run_id INTEGER REFERENCES _sheetsync_runs(id) ON DELETE CASCADE,
            job TEXT NOT NULL,
            step TEXT NOT NULL,
            record_key TEXT NOT NULL,          -- JSON array of the record's key values
            error TEXT NOT NULL,
            failed_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        );
        """),
        (4, "v4-push", """
        CREATE TABLE _sheetsync_outbox (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            worksheet TEXT NOT NULL,
            record_key TEXT NOT NULL,          -- JSON array of the key values
            operation TEXT NOT NULL,           -- insert, update, delete
            changed_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        );
        CREATE INDEX _sheetsync_outbox_worksheet ON _sheetsync_outbox(worksheet, seq);
        CREATE TABLE _sheetsync_deliveries (
            id INTEGER PRIMARY KEY,
            job TEXT NOT NULL,
            worksheet TEXT NOT NULL,
            record_key TEXT NOT NULL,
            change_id TEXT NOT NULL UNIQUE,    -- sent as Idempotency-Key and webhook-id
            first_operation TEXT NOT NULL,     -- the first change captured for it
            operation TEXT,                    -- what was sent: insert, update, delete
            outbox_seq INTEGER NOT NULL,       -- the latest change it covers
            state TEXT NOT NULL DEFAULT 'pending',   -- pending, delivered, failed, skipped
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
            payload TEXT,                      -- frozen at the first attempt: retries send the same bytes
            payload_hash TEXT,
            last_status INTEGER,
            last_error TEXT,
            reason TEXT,                       -- why it was skipped or failed
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
            delivered_at TEXT
        );
        CREATE INDEX _sheetsync_deliveries_due ON _sheetsync_deliveries(job, state, next_attempt_at);
        CREATE INDEX _sheetsync_deliveries_key ON _sheetsync_deliveries(job, record_key, id);
        CREATE TABLE _sheetsync_pushed (
            job TEXT NOT NULL,
            record_key TEXT NOT NULL,
            payload_hash TEXT NOT NULL,        -- of the last acknowledged projection
            delivered_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
            PRIMARY KEY (job, record_key)
        );
        """),
        // Seals are positions: only placeholders sheetsync wrote are unsealed, never text
        // in record data. Payloads frozen before this version marked no positions, so any
        // that hold a placeholder are unfrozen and planned again from their record.
        // The whole rendered request (method, URL, headers) is frozen with the payload.
        (5, "v5-payload-seals", """
        ALTER TABLE _sheetsync_deliveries ADD COLUMN payload_seals TEXT;   -- JSON: [[offset, secret, form], …]
        ALTER TABLE _sheetsync_deliveries ADD COLUMN request TEXT;         -- JSON: method, url, headers; secrets sealed
        ALTER TABLE _sheetsync_deliveries ADD COLUMN request_seals TEXT;
        UPDATE _sheetsync_deliveries SET payload = NULL, payload_hash = NULL
            WHERE payload LIKE '%{{secret.%' AND state <> 'delivered';
        """),
        // Batches: deliveries sent in one request share a batch id (the request's
        // Idempotency-Key). Write-back marks the outbox rows it causes with the job that
        // wrote them, so that job does not queue a delivery for its own write.
        (6, "v6-batches-and-origin", """
        ALTER TABLE _sheetsync_deliveries ADD COLUMN batch_id TEXT;
        CREATE INDEX _sheetsync_deliveries_batch ON _sheetsync_deliveries(batch_id) WHERE batch_id IS NOT NULL;
        ALTER TABLE _sheetsync_outbox ADD COLUMN origin TEXT;
        """),
        // The process that runs each run (pid and a token of host, boot id and process start
        // time, so a reused pid is not taken for it): a later process marks runs whose
        // process is gone 'interrupted' instead of leaving them 'running' forever. Runs left
        // 'running' by earlier versions have no owner to ask; they are marked here.
        (7, "v7-run-owners", """
        ALTER TABLE _sheetsync_runs ADD COLUMN owner_pid INTEGER;
        ALTER TABLE _sheetsync_runs ADD COLUMN owner TEXT;
        CREATE INDEX _sheetsync_runs_running ON _sheetsync_runs(id) WHERE status = 'running';
        UPDATE _sheetsync_runs SET status = 'interrupted', ended_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), error_code = 'interrupted',
            error_message = 'was still running when this database was upgraded (schema version 7, at ' || strftime('%Y-%m-%dT%H:%M:%fZ', 'now') || '); the process that ran it was not recorded and is taken to be gone'
        WHERE status = 'running';
        """),
        // A delivery whose request may be out and whose outcome is not recorded yet. Found
        // set by the next pass, the process stopped mid-send: one such unit is charged an
        // attempt (an answer that kills the process must not be retried forever); several
        // are sent again one at a time, so a second crash names the one that causes it.
        (8, "v8-in-flight", """
        ALTER TABLE _sheetsync_deliveries ADD COLUMN in_flight INTEGER NOT NULL DEFAULT 0;
        """),
        // Records a pull job with `write: update` did not write because no row has their
        // key (and their children): not rejects, the run still succeeds.
        (9, "v9-skipped-count", """
        ALTER TABLE _sheetsync_runs ADD COLUMN skipped INTEGER NOT NULL DEFAULT 0;
        """),
        // The parameter values `sheetsync test` last used for each job, offered again when
        // it asks for them on a terminal. Parameters only: secrets are never asked for or kept.
        (10, "v10-test-values", """
        CREATE TABLE _sheetsync_test_values (
            job TEXT NOT NULL,
            name TEXT NOT NULL,
            value TEXT NOT NULL,
            used_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
            PRIMARY KEY (job, name)
        );
        """),
        // Digests of what each synced record became (its row and child rows), so a re-sync
        // skips records that did not change. Triggers on the worksheets (made when a job
        // runs, see `guardDigests`) delete a row's digest whenever anything but a pull
        // page's own transaction writes the row or its children; `_sheetsync_writing`
        // holds a row only inside such a transaction, never committed.
        (11, "v11-record-digests", """
        CREATE TABLE _sheetsync_digests (
            worksheet TEXT NOT NULL,
            key TEXT NOT NULL,
            digest BLOB NOT NULL,
            PRIMARY KEY (worksheet, key)
        ) WITHOUT ROWID;
        CREATE TABLE _sheetsync_writing (x INTEGER);
        """),
        // Digests of records as the API sent them (v11 digested the mapped values), each
        // with the record's cursor value and its child row counts: a record is skipped
        // before it is parsed.
        (12, "v12-raw-record-digests", """
        DROP TABLE _sheetsync_digests;
        CREATE TABLE _sheetsync_digests (
            worksheet TEXT NOT NULL,
            key TEXT NOT NULL,
            digest BLOB NOT NULL,
            cursor TEXT,
            child_rows TEXT,
            PRIMARY KEY (worksheet, key)
        ) WITHOUT ROWID;
        """),
        // Failure notifications (`notify:`), queued in the run's end and sent with retries,
        // as push deliveries are: the ledger says what was sent and what failed.
        (13, "v13-notifications", """
        CREATE TABLE _sheetsync_notifications (
            id INTEGER PRIMARY KEY,
            notification_id TEXT NOT NULL UNIQUE,   -- sent as webhook-id: the same on every attempt
            job TEXT NOT NULL,
            event TEXT NOT NULL,                    -- failure, still_failing, recovery
            run_id INTEGER,
            payload TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending',  -- pending, delivered, failed
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
            last_status INTEGER,
            last_error TEXT,
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
            delivered_at TEXT
        );
        CREATE INDEX _sheetsync_notifications_due ON _sheetsync_notifications(state, next_attempt_at);
        """),
        // Digests of whole pages (`skip_unchanged`): a page whose bytes are those of a page
        // every record of which is still as it made it is not split or read at all. Each
        // record's digest names the page it was last stored or confirmed with; the triggers
        // drop a page's digest as soon as one of its records' digests goes (another writer's
        // guard) or moves to another page (see `WorksheetDatabase+Digests`).
        (14, "v14-page-digests", """
        ALTER TABLE _sheetsync_digests ADD COLUMN page BLOB;
        CREATE TABLE _sheetsync_page_digests (
            worksheet TEXT NOT NULL,
            digest BLOB NOT NULL,
            records INTEGER NOT NULL,
            cursor TEXT,
            child_rows TEXT,
            outline TEXT NOT NULL,                  -- the page without its records (what pagination reads)
            PRIMARY KEY (worksheet, digest)
        ) WITHOUT ROWID;
        CREATE TRIGGER _sheetsync_page_digest_gone AFTER DELETE ON _sheetsync_digests WHEN OLD.page IS NOT NULL
        BEGIN DELETE FROM _sheetsync_page_digests WHERE worksheet = OLD.worksheet AND digest = OLD.page; END;
        CREATE TRIGGER _sheetsync_page_digest_moved AFTER UPDATE ON _sheetsync_digests WHEN OLD.page IS NOT NULL AND (OLD.page IS NOT NEW.page OR OLD.digest IS NOT NEW.digest)
        BEGIN DELETE FROM _sheetsync_page_digests WHERE worksheet = OLD.worksheet AND digest = OLD.page; END;
        """),
        // A backfill's `--param` values are part of what it is: the same range with other
        // parameters is another backfill. Kept as a digest (the values are not recorded);
        // '' for none, as every backfill before had.
        (15, "v15-backfill-params", """
        ALTER TABLE _sheetsync_backfills ADD COLUMN params TEXT NOT NULL DEFAULT '';
        """),
    ]

    /// Applies every migration not yet recorded.
    /// Throws when the file at `path` records a migration newer than this build knows,
    /// reading it through a read-only connection so that a refused file stays untouched.
    static func refuseNewer(path: String) throws {
        var configuration = Configuration()
        configuration.readonly = true
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        let newest = try queue.read { db -> Int? in
            guard try db.tableExists("_sheetsync_migrations") else { return nil }
            return try Int.fetchOne(db, sql: "SELECT max(version) FROM _sheetsync_migrations")
        }
        try queue.close()
        if let newest, newest > (all.map(\.version).max() ?? 0) {
            throw newerDatabase(newest)
        }
    }

    static func newerDatabase(_ version: Int) -> StoreError {
        StoreError(.newerDatabase, "This database was written by a newer sheetsync (schema version \(version)); this one knows up to \(all.map(\.version).max() ?? 0). Upgrade sheetsync to use it; the file was not changed.")
    }

    static func run(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE IF NOT EXISTS _sheetsync_migrations (
                version INTEGER PRIMARY KEY,
                name TEXT NOT NULL,
                applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
            )
            """)
        let applied = Set(try Int.fetchAll(db, sql: "SELECT version FROM _sheetsync_migrations"))
        if let newest = applied.max(), newest > (all.map(\.version).max() ?? 0) {
            throw newerDatabase(newest)
        }
        for migration in all where !applied.contains(migration.version) {
            try db.execute(sql: migration.sql)
            try db.execute(sql: "INSERT INTO _sheetsync_migrations (version, name) VALUES (?, ?)",
                           arguments: [migration.version, migration.name])
        }
    }
}
