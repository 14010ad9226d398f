import GRDB

/// Tables that keep the nightly runs' ledger of processed inbox files in the knowledge base.
///
/// Registered by `KnowledgeStore` after the results tables; owned by `kmerl-batch nightly`.
///
/// - `nightly_file`: a memo of content hashes keyed by inbox file, valid while the file's size
///   and modification time are unchanged (so unchanged files are never re-hashed).
/// - `nightly_run`: one row per nightly run and reports folder, with its state
///   (`staged` → `processed` → `committed`, or `discarded`) so that a run killed at any moment is
///   finished or discarded deterministically by the next start.
/// - `nightly_run_record`: the records a run took on and, once processed, their outcomes.
/// - `nightly_record`: per inbox record, the content hash of the version last processed by a
///   committed run, whether it succeeded, and the archive state of its files.
enum NightlySchema {
    /// Adds this schema's migrations, in order, to `migrator`.
    static func registerMigrations(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("nightly-v1") { db in
            try db.execute(sql: """
                CREATE TABLE nightly_file (
                    inbox TEXT NOT NULL,
                    path TEXT NOT NULL,
                    size INTEGER NOT NULL,
                    mtime_ns INTEGER NOT NULL,
                    sha256 TEXT NOT NULL,
                    PRIMARY KEY (inbox, path)
                ) WITHOUT ROWID;
                CREATE TABLE nightly_run (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    reports TEXT NOT NULL,
                    inbox TEXT NOT NULL,
                    started_at REAL NOT NULL,
                    finished_at REAL,
                    state TEXT NOT NULL CHECK (state IN ('staged', 'processed', 'committed', 'discarded')),
                    night TEXT NOT NULL,
                    directory TEXT,
                    staging TEXT,
                    archive_dir TEXT,
                    classification_run TEXT,
                    processed INTEGER NOT NULL DEFAULT 0,
                    failed INTEGER NOT NULL DEFAULT 0,
                    carried INTEGER NOT NULL DEFAULT 0,
                    abnormal INTEGER NOT NULL DEFAULT 0,
                    waiting INTEGER NOT NULL DEFAULT 0,
                    pruned INTEGER NOT NULL DEFAULT 0
                );
                CREATE INDEX nightly_run_reports ON nightly_run (reports, state);
                CREATE TABLE nightly_run_record (
                    run_id INTEGER NOT NULL REFERENCES nightly_run (id) ON DELETE CASCADE,
                    record_key TEXT NOT NULL,
                    content_hash TEXT NOT NULL,
                    files TEXT NOT NULL,
                    outcome TEXT CHECK (outcome IN ('ok', 'failed', 'carried')),
                    statement TEXT,
                    abnormal INTEGER NOT NULL DEFAULT 0,
                    reason TEXT,
                    PRIMARY KEY (run_id, record_key)
                ) WITHOUT ROWID;
                CREATE TABLE nightly_record (
                    inbox TEXT NOT NULL,
                    record_key TEXT NOT NULL,
                    content_hash TEXT NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
                    run_id INTEGER NOT NULL,
                    reason TEXT,
                    attempts INTEGER NOT NULL DEFAULT 1,
                    first_failed_at REAL,
                    updated_at REAL NOT NULL,
                    files TEXT NOT NULL,
                    archive TEXT CHECK (archive IN ('pending', 'done')),
                    archive_dir TEXT,
                    PRIMARY KEY (inbox, record_key)
                ) WITHOUT ROWID;
                CREATE INDEX nightly_record_archive ON nightly_record (inbox, archive);
                """)
        }
    }
}
