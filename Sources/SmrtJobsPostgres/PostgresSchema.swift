import Foundation
import SmrtJobs

/// The tables and indexes of the PostgreSQL store, and their migrations.
///
/// The queue lives in one schema: the first of the connection's `search_path` (`current_schema()`), which is
/// what `StoreAccess` calls the database. The version lives in `_smrt_schema_version` (no table = empty schema).
/// Creating and migrating run in one transaction that first takes `pg_advisory_xact_lock(advisoryLockKey)` and
/// then re-reads the version, so several supervisors starting at once on an empty database each wait for the
/// first, then find the schema current.
enum PostgresSchema {
    /// `migrations[i]` takes the schema from version `i` to `i + 1`.
    static let migrations: [String] = [version1, version2, version3]

    /// Version 2: unique keys (at most one pending or running job per key, by a partial unique index) and queues
    /// as objects (paused, a global concurrency limit; a queue without a row is running and unlimited).
    static let version2 = """
        ALTER TABLE _smrt_jobs ADD COLUMN unique_key text;
        CREATE UNIQUE INDEX _smrt_jobs_unique_active ON _smrt_jobs (unique_key)
            WHERE unique_key IS NOT NULL AND status IN ('pending', 'running');
        CREATE INDEX _smrt_jobs_unique_finished ON _smrt_jobs (unique_key, completed_at)
            WHERE unique_key IS NOT NULL AND completed_at IS NOT NULL;
        CREATE TABLE _smrt_queues (
            name text PRIMARY KEY,
            paused boolean NOT NULL DEFAULT false,
            concurrency integer CHECK (concurrency IS NULL OR concurrency >= 0),
            updated_at timestamptz NOT NULL
        );
        """

    /// Version 3: the operator surface (issue 10). On jobs the latest progress of the running (or last) attempt
    /// (`JobProgress.storedJSON`), and the worker process that ran the last finished attempt and how it ended; on
    /// leases what the owner publishes about itself (`SupervisorSnapshot.storedJSON`).
    ///
    /// Two partial indexes, each holding only rows of a status that is rare and stays put (a row enters it when
    /// its job fails for good or is cancelled, and leaves it when retried or pruned), so the claim and completion
    /// of the hot path never write to them:
    /// - `_smrt_jobs_failed` (id) WHERE failed, `_smrt_jobs_cancelled` (id) WHERE cancelled: the dashboard's job
    ///   pages of one of these statuses, newest first, walk them backwards from the cursor and stop after a page:
    ///   exact however few of the table's rows they are (`_smrt_jobs_finished` holds them by completed_at).
    /// Pending, running and completed pages need none: running rows are few (read through
    /// `_smrt_jobs_running_worker` and sorted), pending and completed rows are most of the newest ones, found by
    /// walking the primary key backwards (at most `JobPageQuery.scanLimit` rows). The per-minute tallies read a
    /// range of `_smrt_jobs_finished` (status, completed_at) per status, an index-only scan.
    static let version3 = """
        ALTER TABLE _smrt_jobs ADD COLUMN progress jsonb, ADD COLUMN worker_pid integer, ADD COLUMN worker_exit text;
        ALTER TABLE _smrt_workers ADD COLUMN stats jsonb;
        CREATE INDEX _smrt_jobs_failed ON _smrt_jobs (id) WHERE status = 'failed';
        CREATE INDEX _smrt_jobs_cancelled ON _smrt_jobs (id) WHERE status = 'cancelled';
        """

    /// The version this library writes and understands.
    static var currentVersion: Int64 { Int64(migrations.count) }

    /// Every table of this library starts with it.
    static let tablePrefix = "_smrt_"

    /// The advisory lock that serializes schema changes (any constant: "smrtjobs" in ASCII).
    static let advisoryLockKey: Int64 = 0x736D_7274_6A6F_6273

    /// The schema a connection's queue lives in, and whether it exists yet.
    struct Location {
        var schema: String
        var exists: Bool
    }

    /// `current_schema()`, or when the first schema of the search path does not exist, its name.
    static func locate(_ connection: PostgresConnection) throws -> Location {
        let row = try connection.exec("SELECT current_schema(), current_setting('search_path'), session_user").row(0)
        if let schema = row.string(0) { return Location(schema: schema, exists: true) }
        let path = row.string(1) ?? ""
        let first = firstSchema(ofSearchPath: path) ?? "public"
        return Location(schema: first == "$user" ? (row.string(2) ?? "public") : first, exists: false)
    }

    /// The first name of a `search_path` setting (`"My Schema", public` → `My Schema`), quotes removed.
    static func firstSchema(ofSearchPath path: String) -> String? {
        var name = ""
        var quoted = false
        var index = path.startIndex
        while index < path.endIndex, path[index] == " " { index = path.index(after: index) }
        while index < path.endIndex {
            let character = path[index]
            if quoted {
                if character == "\"" {
                    let next = path.index(after: index)
                    if next < path.endIndex, path[next] == "\"" {
                        name.append("\"")
                        index = next
                    } else {
                        quoted = false
                    }
                } else {
                    name.append(character)
                }
            } else if character == "\"" {
                quoted = true
            } else if character == "," {
                break
            } else {
                name.append(character)
            }
            index = path.index(after: index)
        }
        let trimmed = name.trimmingCharacters(in: .whitespaces)
        return trimmed.isEmpty ? nil : trimmed
    }

    /// Readies a just-opened connection as `access` allows, before anything is written (see `StoreAccess`): a
    /// missing schema is `noSuchDatabase` unless `access` creates; a schema that holds other tables but none
    /// of ours is refused unless `access` adds to it; an empty one is refused read-only. Then a writing connection
    /// creates or migrates, and a read-only one only has its version checked. Returns the schema.
    static func prepare(_ connection: PostgresConnection, access: StoreAccess, displayName: String) throws -> String {
        let location = try locate(connection)
        if !location.exists {
            guard access.mode == .create else { throw SmrtJobsError.noSuchDatabase(name: displayName) }
            try migrate(connection, creating: location.schema, displayName: displayName)
            return location.schema
        }
        let tables = try tableNames(connection)
        if !tables.contains(where: { $0.hasPrefix(tablePrefix) }) {
            if !access.writes {
                throw SmrtJobsError.notAQueueDatabase(name: displayName, hasOtherTables: !tables.isEmpty, mayAddTables: false)
            }
            if !tables.isEmpty && !access.addsToForeignDatabase {
                throw SmrtJobsError.notAQueueDatabase(name: displayName, hasOtherTables: true, mayAddTables: true)
            }
        }
        guard access.writes else {
            let found = try version(connection)
            if found != currentVersion {
                let advice = found < currentVersion
                    ? "open it once with a command that writes (or the supervisor) to upgrade it" : "upgrade smrt-jobs"
                throw SmrtJobsError.database(
                    kind: .fatal,
                    message: "\(displayName) has schema version \(found); this library reads version \(currentVersion) (\(advice))")
            }
            return location.schema
        }
        if try version(connection) != currentVersion {
            try migrate(connection, creating: nil, displayName: displayName)
        }
        return location.schema
    }

    /// Names of the tables (plain and partitioned) of the current schema.
    static func tableNames(_ connection: PostgresConnection) throws -> [String] {
        try connection.exec(
            """
            SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
            WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
            """
        ).rows.compactMap { $0.string(0) }
    }

    /// Brings the schema to `currentVersion` under the advisory lock, creating the schema `creating` first.
    static func migrate(_ connection: PostgresConnection, creating schema: String?, displayName: String) throws {
        try connection.transaction {
            // A peer's migration may hold the lock for a while; waiting for it is the design, whatever short lock
            // timeout the queue's statements run under (that one is for row locks held by a stuck peer).
            try connection.exec("SET LOCAL lock_timeout = '60s'")
            try connection.exec("SELECT pg_advisory_xact_lock(\(advisoryLockKey))")
            if let schema { try connection.exec("CREATE SCHEMA IF NOT EXISTS \(quoteIdentifier(schema))") }
            let found = try version(connection)
            if found == currentVersion { return }
            if found > currentVersion {
                throw SmrtJobsError.database(
                    kind: .fatal, message: "\(displayName) has schema version \(found); this library knows up to \(currentVersion)")
            }
            if found == 0 { try connection.exec("CREATE TABLE _smrt_schema_version (version bigint NOT NULL)") }
            for step in Int(found)..<migrations.count {
                try connection.exec(migrations[step])
            }
            try connection.exec("DELETE FROM _smrt_schema_version; INSERT INTO _smrt_schema_version VALUES (\(currentVersion))")
        }
    }

    /// The version of the current schema's queue (0 without the version table).
    static func version(_ connection: PostgresConnection) throws -> Int64 {
        let row = try connection.exec(
            "SELECT to_regclass(quote_ident(current_schema()) || '._smrt_schema_version') IS NOT NULL"
        ).row(0)
        guard row.bool(0) else { return 0 }
        let max = try connection.exec("SELECT max(version) FROM _smrt_schema_version").row(0)
        return max.isNull(0) ? 0 : max.int64(0)
    }

    /// `"name"`, with inner quotes doubled.
    static func quoteIdentifier(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// The NOTIFY channel of a schema's queue: `smrt_jobs` for `public`, `smrt_jobs_<schema>` for another
    /// schema whose name is a plain lower-case identifier, else `smrt_jobs_` and a hash of the name; never over
    /// PostgreSQL's 63 bytes, so two queues in two schemas of one database do not wake each other.
    static func channel(forSchema schema: String) -> String {
        if schema == "public" { return "smrt_jobs" }
        let plain = schema.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F }
        let candidate = "smrt_jobs_" + schema
        if plain && !schema.isEmpty && candidate.utf8.count <= 63 { return candidate }
        // FNV-1a: stable across processes and hosts, unlike Hasher.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in schema.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return "smrt_jobs_h" + String(hash, radix: 16)
    }

    /// Version 1.
    ///
    /// Times are `timestamptz` (written and read to the millisecond, as the SQLite store keeps them); JSON
    /// columns are `jsonb`. `id` is an identity column: a sequence never hands out an id twice, so a handle or
    /// log line that names a job can never point at another job.
    ///
    /// Indexes, most of them partial so each holds only the rows of one phase:
    /// - `_smrt_jobs_claim` (queue, priority DESC, run_at, id) WHERE pending: a claim of some queues walks it in
    ///   claim order; `_smrt_jobs_claim_any` the same without queue, for a claim of every queue.
    /// - `_smrt_jobs_running_worker` (worker_id) WHERE running: heartbeat, recovery, the running count.
    /// - `_smrt_jobs_finished` (status, completed_at) WHERE finished: cleanup's per-status cutoff.
    /// `_smrt_schedule_fires` has PRIMARY KEY (schedule_id, slot): the unique fire key, so a due cron fire
    /// happens once however many supervisors try.
    static let version1 = """
        CREATE TABLE _smrt_jobs (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            tenant_id text,
            queue text NOT NULL DEFAULT 'default',
            object_type text NOT NULL,
            object_id text,
            method text NOT NULL,
            args jsonb NOT NULL DEFAULT '{}',
            run_at timestamptz NOT NULL,
            priority integer NOT NULL DEFAULT 50,
            status text NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
            attempts integer NOT NULL DEFAULT 0,
            max_attempts integer NOT NULL DEFAULT 3,
            timeout bigint NOT NULL DEFAULT 300000,
            timeout_behavior text NOT NULL DEFAULT 'fail' CHECK (timeout_behavior IN ('fail', 'kill', 'warn')),
            started_at timestamptz,
            completed_at timestamptz,
            last_error text,
            result_pointer text,
            result jsonb,
            retry_strategy jsonb NOT NULL DEFAULT '{"type":"exponential","config":{}}',
            worker_id text,
            worker_heartbeat timestamptz,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            CHECK ((completed_at IS NOT NULL) = (status IN ('completed', 'failed', 'cancelled')))
        );
        CREATE INDEX _smrt_jobs_claim ON _smrt_jobs (queue, priority DESC, run_at, id) WHERE status = 'pending';
        CREATE INDEX _smrt_jobs_claim_any ON _smrt_jobs (priority DESC, run_at, id) WHERE status = 'pending';
        CREATE INDEX _smrt_jobs_running_worker ON _smrt_jobs (worker_id) WHERE status = 'running';
        CREATE INDEX _smrt_jobs_finished ON _smrt_jobs (status, completed_at) WHERE completed_at IS NOT NULL;

        CREATE TABLE _smrt_workers (
            id text PRIMARY KEY,
            pid integer NOT NULL,
            host text NOT NULL,
            started_at timestamptz NOT NULL,
            heartbeat timestamptz NOT NULL,
            expires_at timestamptz
        );

        CREATE TABLE _smrt_agent_schedules (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            tenant_id text,
            agent_type text NOT NULL,
            agent_id text,
            agent_config jsonb,
            cron text NOT NULL,
            timezone text NOT NULL DEFAULT 'UTC',
            enabled boolean NOT NULL DEFAULT true,
            status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'disabled', 'error')),
            last_run timestamptz,
            next_run timestamptz,
            last_status text CHECK (last_status IN ('success', 'failed')),
            last_error text,
            run_count bigint NOT NULL DEFAULT 0,
            success_count bigint NOT NULL DEFAULT 0,
            failure_count bigint NOT NULL DEFAULT 0,
            max_concurrent integer NOT NULL DEFAULT 1,
            running_count integer NOT NULL DEFAULT 0,
            timeout bigint NOT NULL DEFAULT 3600000,
            method text NOT NULL DEFAULT 'run',
            method_args jsonb NOT NULL DEFAULT '{}',
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL
        );
        CREATE INDEX _smrt_agent_schedules_due ON _smrt_agent_schedules (next_run) WHERE enabled AND status = 'active';

        CREATE TABLE _smrt_schedule_fires (
            schedule_id bigint NOT NULL,
            slot timestamptz NOT NULL,
            job_id bigint,
            fired_at timestamptz NOT NULL,
            PRIMARY KEY (schedule_id, slot)
        );
        """
}
