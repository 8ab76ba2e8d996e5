import Foundation
import SheetSyncStore

/// sheetsync's own tables on PostgreSQL: the same names and columns as in SQLite
/// (`BookkeepingMigrations`), so `sheetsync query` and users' SQL read them the same way;
/// times are `timestamptz`, ids identity columns. They live in the connection's schema
/// (`search_path`, normally `public`), beside the worksheets, as in an SQLite file.
///
/// Each migration runs once, in order, in one transaction holding an advisory lock (two
/// processes starting at once do not both apply it), recorded in `_sheetsync_migrations`.
/// Never edit a released migration: add one.
enum PostgresMigrations {
    /// `pg_advisory_xact_lock` key for migrations: "sheetsync" in ASCII, cut to 63 bits.
    static let lockKey: Int64 = 0x7368_6565_7473_796E

    static let all: [(version: Int, name: String, sql: String)] = [
        (1, "v1-pull", """
        CREATE TABLE _sheetsync_worksheets (
            name text PRIMARY KEY,
            key text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE _sheetsync_fields (
            worksheet text NOT NULL REFERENCES _sheetsync_worksheets(name) ON DELETE CASCADE,
            name text NOT NULL,
            type text NOT NULL,
            position integer NOT NULL,
            PRIMARY KEY (worksheet, name)
        );
        CREATE TABLE _sheetsync_schema_changes (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            worksheet text NOT NULL,
            change text NOT NULL,
            sql text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE _sheetsync_runs (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            job text NOT NULL,
            trigger text NOT NULL,
            started_at timestamptz NOT NULL,
            ended_at timestamptz,
            status text NOT NULL,
            requests integer NOT NULL DEFAULT 0,
            inserted integer NOT NULL DEFAULT 0,
            updated integer NOT NULL DEFAULT 0,
            unchanged integer NOT NULL DEFAULT 0,
            skipped integer NOT NULL DEFAULT 0,
            rejected integer NOT NULL DEFAULT 0,
            deleted integer NOT NULL DEFAULT 0,
            details text,
            error_code text,
            error_message text,
            owner_pid integer,
            owner text
        );
        CREATE INDEX _sheetsync_runs_job ON _sheetsync_runs(job, id);
        CREATE INDEX _sheetsync_runs_running ON _sheetsync_runs(id) WHERE status = 'running';
        CREATE TABLE _sheetsync_requests (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            run_id bigint NOT NULL REFERENCES _sheetsync_runs(id) ON DELETE CASCADE,
            method text NOT NULL,
            url text NOT NULL,
            status integer,
            duration_ms integer,
            bytes bigint,
            attempt integer NOT NULL DEFAULT 1,
            error text,
            sent_at timestamptz NOT NULL
        );
        CREATE INDEX _sheetsync_requests_run ON _sheetsync_requests(run_id);
        CREATE TABLE _sheetsync_rejects (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            job text NOT NULL,
            run_id bigint REFERENCES _sheetsync_runs(id) ON DELETE SET NULL,
            worksheet text NOT NULL,
            reason text NOT NULL,
            raw text NOT NULL,
            rejected_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE _sheetsync_step_failures (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            run_id bigint REFERENCES _sheetsync_runs(id) ON DELETE CASCADE,
            job text NOT NULL,
            step text NOT NULL,
            record_key text NOT NULL,
            error text NOT NULL,
            failed_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE _sheetsync_state (
            job text NOT NULL,
            name text NOT NULL,
            value text,
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (job, name)
        );
        CREATE TABLE _sheetsync_backfills (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            job text NOT NULL,
            range_from text NOT NULL,
            range_to text NOT NULL,
            step text NOT NULL,
            timezone text NOT NULL,
            params text NOT NULL DEFAULT '',
            created_at timestamptz NOT NULL DEFAULT now(),
            finished_at timestamptz
        );
        CREATE TABLE _sheetsync_backfill_windows (
            backfill_id bigint NOT NULL REFERENCES _sheetsync_backfills(id) ON DELETE CASCADE,
            position integer NOT NULL,
            window_start text NOT NULL,
            window_end text NOT NULL,
            status text NOT NULL DEFAULT 'pending',
            run_id bigint,
            rows integer NOT NULL DEFAULT 0,
            finished_at timestamptz,
            PRIMARY KEY (backfill_id, position)
        );
        CREATE TABLE _sheetsync_test_values (
            job text NOT NULL,
            name text NOT NULL,
            value text NOT NULL,
            used_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (job, name)
        );
        CREATE TABLE _sheetsync_notifications (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            notification_id text NOT NULL UNIQUE,
            job text NOT NULL,
            event text NOT NULL,
            run_id bigint,
            payload text NOT NULL,
            state text NOT NULL DEFAULT 'pending',
            attempts integer NOT NULL DEFAULT 0,
            next_attempt_at timestamptz NOT NULL DEFAULT now(),
            last_status integer,
            last_error text,
            created_at timestamptz NOT NULL DEFAULT now(),
            delivered_at timestamptz
        );
        CREATE INDEX _sheetsync_notifications_due ON _sheetsync_notifications(state, next_attempt_at);
        """),
        // Push jobs: the outbox the capture triggers fill (`_sheetsync_capture`, one function
        // for every captured worksheet: its arguments are the worksheet's name and key
        // columns; the update trigger's WHEN clause lists the fields, so updates that change
        // none leave nothing), the delivery ledger and the last payload acknowledged per record.
        // Record keys are JSON arrays as `jsonb` writes each value, joined without spaces.
        // `sheetsync.origin` (set for a transaction by a write-back) marks the rows a job's
        // own write caused; `pg_notify` tells a listening daemon a change is there.
        (2, "v2-push", """
        CREATE TABLE _sheetsync_outbox (
            seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            worksheet text NOT NULL,
            record_key text NOT NULL,
            operation text NOT NULL,
            origin text,
            changed_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX _sheetsync_outbox_worksheet ON _sheetsync_outbox(worksheet, seq);
        CREATE TABLE _sheetsync_deliveries (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            job text NOT NULL,
            worksheet text NOT NULL,
            record_key text NOT NULL,
            change_id text NOT NULL UNIQUE,
            first_operation text NOT NULL,
            operation text,
            outbox_seq bigint NOT NULL,
            state text NOT NULL DEFAULT 'pending',
            attempts integer NOT NULL DEFAULT 0,
            next_attempt_at timestamptz NOT NULL DEFAULT now(),
            payload text,
            payload_seals text,
            request text,
            request_seals text,
            batch_id text,
            payload_hash text,
            last_status integer,
            last_error text,
            reason text,
            in_flight integer NOT NULL DEFAULT 0,
            created_at timestamptz NOT NULL DEFAULT now(),
            delivered_at timestamptz
        );
        CREATE INDEX _sheetsync_deliveries_due ON _sheetsync_deliveries(job, state, next_attempt_at);
        CREATE INDEX _sheetsync_deliveries_key ON _sheetsync_deliveries(job, record_key, id);
        CREATE INDEX _sheetsync_deliveries_batch ON _sheetsync_deliveries(batch_id) WHERE batch_id IS NOT NULL;
        CREATE TABLE _sheetsync_pushed (
            job text NOT NULL,
            record_key text NOT NULL,
            payload_hash text NOT NULL,
            delivered_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (job, record_key)
        );
        CREATE FUNCTION _sheetsync_capture() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            old_row jsonb;
            new_row jsonb;
            old_key text;
            new_key text;
            origin text := nullif(current_setting('sheetsync.origin', true), '');
        BEGIN
            IF TG_OP <> 'INSERT' THEN old_row := to_jsonb(OLD); END IF;
            IF TG_OP <> 'DELETE' THEN new_row := to_jsonb(NEW); END IF;
            FOR i IN 1 .. TG_NARGS - 1 LOOP
                old_key := CASE WHEN i > 1 THEN old_key || ',' ELSE '' END || coalesce((old_row -> TG_ARGV[i])::text, 'null');
                new_key := CASE WHEN i > 1 THEN new_key || ',' ELSE '' END || coalesce((new_row -> TG_ARGV[i])::text, 'null');
            END LOOP;
            old_key := '[' || old_key || ']';
            new_key := '[' || new_key || ']';
            IF TG_OP = 'DELETE' THEN
                INSERT INTO _sheetsync_outbox (worksheet, record_key, operation, origin) VALUES (TG_ARGV[0], old_key, 'delete', origin);
            ELSE
                IF TG_OP = 'UPDATE' AND old_key <> new_key THEN
                    INSERT INTO _sheetsync_outbox (worksheet, record_key, operation, origin) VALUES (TG_ARGV[0], old_key, 'delete', origin);
                END IF;
                INSERT INTO _sheetsync_outbox (worksheet, record_key, operation, origin) VALUES (TG_ARGV[0], new_key, lower(TG_OP), origin);
            END IF;
            PERFORM pg_notify('sheetsync_outbox', TG_ARGV[0]);
            RETURN NULL;
        END
        $$;
        """),
        // Several `serve` nodes on one database: each node's heartbeat, and one row per
        // scheduled fire claimed (its primary key is what makes a fire run once).
        (3, "v3-nodes", """
        CREATE TABLE _sheetsync_nodes (
            id text PRIMARY KEY,
            host text NOT NULL,
            pid integer NOT NULL,
            started_at timestamptz NOT NULL DEFAULT now(),
            heartbeat_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE _sheetsync_fires (
            job text NOT NULL,
            fire_at timestamptz NOT NULL,
            node text NOT NULL,
            claimed_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (job, fire_at)
        );
        CREATE INDEX _sheetsync_fires_claimed ON _sheetsync_fires(claimed_at);
        """),
        // Which process (node id: run owner token | pid) sends a delivery in flight: a live
        // node's are left alone by the others, a dead one's are sent again.
        (4, "v4-delivery-claims", """
        ALTER TABLE _sheetsync_deliveries ADD COLUMN claimed_by text;
        """),
        // `skip_unchanged` (`PostgresStore+Digests`): digests of records and pages as SQLite's
        // v11–v14 keep them (hex text); a page's digest goes when one of its records' digests
        // goes or moves; the guards delete a row's digest when anything but a page's own
        // transaction writes the row or its children.
        (5, "v5-record-digests", """
        CREATE TABLE _sheetsync_digests (
            worksheet text NOT NULL,
            key text NOT NULL,
            digest text NOT NULL,
            cursor text,
            child_rows text,
            page text,
            PRIMARY KEY (worksheet, key)
        );
        CREATE TABLE _sheetsync_page_digests (
            worksheet text NOT NULL,
            digest text NOT NULL,
            records integer NOT NULL,
            cursor text,
            child_rows text,
            outline text NOT NULL,
            PRIMARY KEY (worksheet, digest)
        );
        CREATE FUNCTION _sheetsync_page_digest_gone() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF OLD.page IS NOT NULL AND (TG_OP = 'DELETE' OR OLD.page IS DISTINCT FROM NEW.page OR OLD.digest IS DISTINCT FROM NEW.digest) THEN
                DELETE FROM _sheetsync_page_digests WHERE worksheet = OLD.worksheet AND digest = OLD.page;
            END IF;
            RETURN NULL;
        END $$;
        CREATE TRIGGER _sheetsync_page_digest_gone AFTER UPDATE OR DELETE ON _sheetsync_digests
            FOR EACH ROW EXECUTE FUNCTION _sheetsync_page_digest_gone();
        CREATE FUNCTION _sheetsync_digest_guard() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            parent text := TG_ARGV[0];
            width integer;
            key_columns text;
            matches text;
            statement text;
        BEGIN
            IF coalesce(current_setting('sheetsync.writing', true), '') = 'page' THEN
                RETURN NULL;
            END IF;
            IF TG_ARGV[1] = 'key' THEN
                SELECT string_agg(format('($1).%I', TG_ARGV[i]), ', ' ORDER BY i) INTO key_columns
                    FROM generate_series(2, TG_NARGS - 1) i;
                EXECUTE format('DELETE FROM _sheetsync_digests WHERE worksheet = $2 AND key = jsonb_build_array(%s)::text', key_columns)
                    USING OLD, parent;
                RETURN NULL;
            END IF;
            width := TG_ARGV[2]::integer;
            SELECT string_agg(format('p.%I', TG_ARGV[i]), ', ' ORDER BY i) INTO key_columns
                FROM generate_series(3, 2 + width) i;
            SELECT string_agg(format('p.%I::text = (($1).%I)::text', TG_ARGV[i + 1], TG_ARGV[i]), ' AND ' ORDER BY i) INTO matches
                FROM generate_series(3 + width, TG_NARGS - 1, 2) i;
            statement := format('DELETE FROM _sheetsync_digests WHERE worksheet = $2 AND key IN (SELECT jsonb_build_array(%s)::text FROM %I p WHERE %s)',
                                key_columns, parent, matches);
            IF TG_OP IN ('UPDATE', 'DELETE') THEN
                EXECUTE statement USING OLD, parent;
            END IF;
            IF TG_OP IN ('INSERT', 'UPDATE') THEN
                EXECUTE statement USING NEW, parent;
            END IF;
            RETURN NULL;
        END $$;
        """),
    ]

    /// Applies the migrations this database lacks; refuses one made by a newer sheetsync.
    static func run(_ db: PostgresSession.Connection) throws {
        try db.execute("SELECT pg_advisory_xact_lock(\(lockKey))")
        try db.execute("""
            CREATE TABLE IF NOT EXISTS _sheetsync_migrations (
                version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())
            """)
        let applied = Set(try db.rows("SELECT version FROM _sheetsync_migrations").compactMap { $0[0].flatMap { Int($0) } })
        if let newest = applied.max(), newest > all.last!.version {
            throw StoreError(.newerDatabase, "this PostgreSQL database was set up by a newer sheetsync (its schema version is \(newest), this sheetsync knows up to \(all.last!.version)); upgrade sheetsync")
        }
        for migration in all where !applied.contains(migration.version) {
            // One statement at a time: the extended protocol takes one per query.
            for statement in statements(migration.sql) {
                try db.execute(statement)
            }
            try db.execute("INSERT INTO _sheetsync_migrations (version, name) VALUES ($1::integer, $2)",
                           [.integer(Int64(migration.version)), .text(migration.name)])
        }
    }

    /// The statements of a migration: split at semicolons outside `$$`-quoted bodies.
    static func statements(_ sql: String) -> [String] {
        var statements: [String] = []
        var current = ""
        var quoted = false
        var rest = Substring(sql)
        while let first = rest.first {
            if rest.hasPrefix("$$") {
                quoted.toggle()
                current += "$$"
                rest = rest.dropFirst(2)
                continue
            }
            if first == ";" && !quoted {
                statements.append(current)
                current = ""
            } else {
                current.append(first)
            }
            rest = rest.dropFirst()
        }
        statements.append(current)
        return statements.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
    }
}
