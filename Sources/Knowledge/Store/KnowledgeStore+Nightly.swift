import Foundation
import GRDB

/// The size, modification time and content hash of one inbox file as last seen.
public struct NightlyFileStamp: Sendable, Hashable {
    /// Size in bytes.
    public var size: Int64
    /// Modification time in nanoseconds since 1970.
    public var mtimeNanoseconds: Int64
    /// SHA-256 of the content, lower-case hex.
    public var sha256: String

    /// A stamp from its parts.
    public init(size: Int64, mtimeNanoseconds: Int64, sha256: String) {
        self.size = size
        self.mtimeNanoseconds = mtimeNanoseconds
        self.sha256 = sha256
    }
}

/// Whether the version of a record last processed by a committed run succeeded.
public enum NightlyRecordStatus: String, Sendable, Codable {
    case ok, failed
}

/// Where the files of a processed record are in their move to the archive.
public enum NightlyArchiveState: String, Sendable, Codable {
    /// Results are durable; the files still have to be moved (also after a crash).
    case pending
    /// All files are in the archive.
    case done
}

/// The ledger's memory of one inbox record (keyed by its primary file's path in the inbox).
public struct NightlyLedgerEntry: Sendable, Hashable {
    /// The primary file's path relative to the inbox.
    public var recordKey: String
    /// Hash over the record's files (names and contents) as processed.
    public var contentHash: String
    /// Outcome of the last processing.
    public var status: NightlyRecordStatus
    /// The committed run that processed it last.
    public var runID: Int64
    /// Why it failed, when it did.
    public var reason: String?
    /// How many committed runs tried this version and failed (1 when it succeeded first time).
    public var attempts: Int
    /// When this version first failed.
    public var firstFailedAt: Date?
    /// The record's files relative to the inbox (filled by `pendingArchives`, empty otherwise).
    public var files: [String]
    /// Archive state, when archiving was asked for.
    public var archive: NightlyArchiveState?
    /// The archive folder this record's files go to.
    public var archiveDirectory: String?
}

/// The life of a nightly run: `staged` (working in a hidden folder) → `processed` (outcomes
/// stored) → `committed` (night folder published, ledger updated); or `discarded`.
public enum NightlyRunState: String, Sendable, Codable {
    case staged, processed, committed, discarded
}

/// One nightly run as kept in the ledger.
public struct NightlyRunRow: Sendable, Hashable {
    /// Row id.
    public var id: Int64
    /// Absolute path of the reports folder.
    public var reports: String
    /// Absolute path of the inbox.
    public var inbox: String
    /// Start time.
    public var startedAt: Date
    /// End time, once committed or discarded.
    public var finishedAt: Date?
    /// Current state.
    public var state: NightlyRunState
    /// The night's date, `YYYY-MM-DD`.
    public var night: String
    /// The night folder's name inside the reports folder (nil when there was nothing to report).
    public var directory: String?
    /// The hidden staging folder's name inside the reports folder.
    public var staging: String?
    /// Records processed (succeeded or failed) in this run.
    public var processed: Int
    /// Records that failed in this run.
    public var failed: Int
    /// Earlier failures reported again without a retry.
    public var carried: Int
    /// Records with an abnormal overall statement.
    public var abnormal: Int
    /// Records left in the inbox for a later run (still being written, incomplete).
    public var waiting: Int
    /// Whether the night folder was pruned.
    public var pruned: Bool
}

/// A record a run takes on: its key, content hash and files.
public struct NightlyPlannedRecord: Sendable, Hashable {
    /// The primary file's path relative to the inbox.
    public var recordKey: String
    /// Hash over the record's files.
    public var contentHash: String
    /// All files of the record relative to the inbox.
    public var files: [String]

    /// A planned record from its parts.
    public init(recordKey: String, contentHash: String, files: [String]) {
        self.recordKey = recordKey
        self.contentHash = contentHash
        self.files = files
    }
}

/// What happened to a record in a run.
public enum NightlyOutcomeKind: String, Sendable, Codable {
    /// Processed successfully.
    case ok
    /// Processed and failed.
    case failed
    /// Failed in an earlier run, unchanged, reported again without retrying.
    case carried
}

/// The stored outcome of one record in one run.
public struct NightlyOutcomeRow: Sendable, Hashable {
    /// The primary file's path relative to the inbox.
    public var recordKey: String
    /// What happened.
    public var kind: NightlyOutcomeKind
    /// The overall statement (normal, abnormal, …) when processed.
    public var statement: String?
    /// Whether the record has abnormal findings.
    public var abnormal: Bool
    /// The failure reason.
    public var reason: String?

    /// An outcome from its parts.
    public init(recordKey: String, kind: NightlyOutcomeKind, statement: String? = nil, abnormal: Bool = false, reason: String? = nil) {
        self.recordKey = recordKey
        self.kind = kind
        self.statement = statement
        self.abnormal = abnormal
        self.reason = reason
    }
}

/// Access to the nightly ledger tables of a knowledge base (see `NightlySchema`).
///
/// Every method is one transaction, so a process killed at any moment leaves the ledger in the
/// state before or after the call.
public struct NightlyLedger: Sendable {
    /// The database (a WAL-mode pool in production).
    let writer: any DatabaseWriter

    /// A ledger over an already migrated database.
    init(writer: any DatabaseWriter) {
        self.writer = writer
    }

    /// Notes the classification run (in `classification_run`) that processes this nightly run,
    /// so that discarding the nightly run also removes its stored results.
    public func attachClassificationRun(runID: Int64, classificationRunID: String) throws {
        try writer.write { db in
            try db.execute(
                sql: "UPDATE nightly_run SET classification_run = ? WHERE id = ?", arguments: [classificationRunID, runID])
        }
    }

    // MARK: File hash memo

    /// All remembered file stamps of `inbox`, keyed by path relative to the inbox.
    public func fileStamps(inbox: String) throws -> [String: NightlyFileStamp] {
        try writer.read { db in
            var result: [String: NightlyFileStamp] = [:]
            let rows = try Row.fetchCursor(
                db, sql: "SELECT path, size, mtime_ns, sha256 FROM nightly_file WHERE inbox = ?", arguments: [inbox])
            while let row = try rows.next() {
                result[row[0]] = NightlyFileStamp(size: row[1], mtimeNanoseconds: row[2], sha256: row[3])
            }
            return result
        }
    }

    /// Remembers the stamps of freshly hashed files.
    public func saveFileStamps(inbox: String, _ stamps: [String: NightlyFileStamp]) throws {
        guard !stamps.isEmpty else { return }
        try writer.write { db in
            let statement = try db.makeStatement(sql: """
                INSERT INTO nightly_file (inbox, path, size, mtime_ns, sha256) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (inbox, path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns, sha256 = excluded.sha256
                """)
            for (path, stamp) in stamps {
                try statement.execute(arguments: [inbox, path, stamp.size, stamp.mtimeNanoseconds, stamp.sha256])
            }
        }
    }

    // MARK: Records

    /// The ledger entries of `inbox` keyed by record key (without their file lists).
    public func entries(inbox: String) throws -> [String: NightlyLedgerEntry] {
        try writer.read { db in
            var result: [String: NightlyLedgerEntry] = [:]
            let rows = try Row.fetchCursor(db, sql: """
                SELECT record_key, content_hash, status, run_id, reason, attempts, first_failed_at, archive, archive_dir
                FROM nightly_record WHERE inbox = ?
                """, arguments: [inbox])
            while let row = try rows.next() {
                let entry = NightlyLedger.entry(row, files: [])
                result[entry.recordKey] = entry
            }
            return result
        }
    }

    /// Records of `inbox` whose results are durable but whose files are not all archived yet.
    public func pendingArchives(inbox: String) throws -> [NightlyLedgerEntry] {
        try writer.read { db in
            try Row.fetchAll(db, sql: """
                SELECT record_key, content_hash, status, run_id, reason, attempts, first_failed_at, archive, archive_dir, files
                FROM nightly_record WHERE inbox = ? AND archive = 'pending' ORDER BY record_key
                """, arguments: [inbox]).map { row in
                NightlyLedger.entry(row, files: NightlyLedger.decodeFiles(row[9]))
            }
        }
    }

    /// Marks a record's files as archived and forgets their hash memo (they left the inbox).
    public func markArchived(inbox: String, recordKey: String, files: [String]) throws {
        try writer.write { db in
            try db.execute(
                sql: "UPDATE nightly_record SET archive = 'done' WHERE inbox = ? AND record_key = ?",
                arguments: [inbox, recordKey])
            for file in files {
                try db.execute(sql: "DELETE FROM nightly_file WHERE inbox = ? AND path = ?", arguments: [inbox, file])
            }
        }
    }

    // MARK: Runs

    /// Starts a run that will process `planned`: stored as `staged` with its future night
    /// folder and hidden staging folder names. Returns the run id.
    public func beginRun(
        reports: String, inbox: String, startedAt: Date, night: String, directory: String,
        planned: [NightlyPlannedRecord], carried: [NightlyPlannedRecord], waiting: Int, archiveDirectory: String?
    ) throws -> Int64 {
        try writer.write { db in
            try db.execute(sql: """
                INSERT INTO nightly_run (reports, inbox, started_at, state, night, directory, waiting, archive_dir)
                VALUES (?, ?, ?, 'staged', ?, ?, ?, ?)
                """, arguments: [reports, inbox, startedAt.timeIntervalSince1970, night, directory, waiting, archiveDirectory])
            let id = db.lastInsertedRowID
            try db.execute(sql: "UPDATE nightly_run SET staging = ? WHERE id = ?", arguments: [".staging-\(id)", id])
            let statement = try db.makeStatement(sql: """
                INSERT INTO nightly_run_record (run_id, record_key, content_hash, files, outcome) VALUES (?, ?, ?, ?, ?)
                """)
            for record in planned {
                try statement.execute(arguments: [id, record.recordKey, record.contentHash, NightlyLedger.encodeFiles(record.files), nil])
            }
            for record in carried {
                try statement.execute(arguments: [id, record.recordKey, record.contentHash, NightlyLedger.encodeFiles(record.files), NightlyOutcomeKind.carried.rawValue])
            }
            return id
        }
    }

    /// Records a run with nothing to process or report (history only).
    public func recordQuietRun(reports: String, inbox: String, startedAt: Date, finishedAt: Date, night: String, waiting: Int) throws {
        try writer.write { db in
            try db.execute(sql: """
                INSERT INTO nightly_run (reports, inbox, started_at, finished_at, state, night, waiting)
                VALUES (?, ?, ?, ?, 'committed', ?, ?)
                """, arguments: [reports, inbox, startedAt.timeIntervalSince1970, finishedAt.timeIntervalSince1970, night, waiting])
        }
    }

    /// Stores the outcomes of a run's records and moves it to `processed`, in one transaction.
    public func recordOutcomes(runID: Int64, _ outcomes: [NightlyOutcomeRow]) throws {
        try writer.write { db in
            let statement = try db.makeStatement(sql: """
                UPDATE nightly_run_record SET outcome = ?, statement = ?, abnormal = ?, reason = ?
                WHERE run_id = ? AND record_key = ?
                """)
            for outcome in outcomes {
                try statement.execute(arguments: [
                    outcome.kind.rawValue, outcome.statement, outcome.abnormal, outcome.reason, runID, outcome.recordKey,
                ])
            }
            let missing = try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM nightly_run_record WHERE run_id = ? AND outcome IS NULL", arguments: [runID]) ?? 0
            guard missing == 0 else {
                throw NightlyLedgerError(message: "run \(runID): \(missing) record(s) have no outcome")
            }
            try db.execute(sql: "UPDATE nightly_run SET state = 'processed' WHERE id = ? AND state = 'staged'", arguments: [runID])
        }
    }

    /// Publishes a processed run in the ledger: every record's status, the run's counts, and —
    /// when the run was given an archive folder — the records' files marked for archiving.
    /// One transaction.
    /// `publishedPath` (the night folder) replaces the staging path as the output of the
    /// attached classification run.
    public func commitRun(runID: Int64, finishedAt: Date, publishedPath: String? = nil) throws {
        try writer.write { db in
            guard let run = try Row.fetchOne(db, sql: "SELECT inbox, state, archive_dir, classification_run FROM nightly_run WHERE id = ?", arguments: [runID]) else {
                throw NightlyLedgerError(message: "run \(runID) is not in the ledger")
            }
            let inbox: String = run[0]
            let state: String = run[1]
            let archiveDirectory: String? = run[2]
            let classificationRun: String? = run[3]
            if let classificationRun, let publishedPath, try db.tableExists("classification_run") {
                try db.execute(
                    sql: "UPDATE classification_run SET output = ? WHERE id = ?", arguments: [publishedPath, classificationRun])
            }
            guard state == NightlyRunState.processed.rawValue else {
                throw NightlyLedgerError(message: "run \(runID) is \(state), not processed")
            }
            let rows = try Row.fetchAll(db, sql: """
                SELECT record_key, content_hash, files, outcome, abnormal, reason FROM nightly_run_record WHERE run_id = ?
                """, arguments: [runID])
            let now = finishedAt.timeIntervalSince1970
            var processed = 0, failed = 0, carried = 0, abnormal = 0
            for row in rows {
                let key: String = row[0]
                let hash: String = row[1]
                let files: String = row[2]
                let outcome = NightlyOutcomeKind(rawValue: row[3] ?? "") ?? .failed
                let isAbnormal: Bool = row[4]
                let reason: String? = row[5]
                if isAbnormal { abnormal += 1 }
                switch outcome {
                case .carried:
                    carried += 1
                case .ok:
                    processed += 1
                    try db.execute(sql: """
                        INSERT INTO nightly_record (inbox, record_key, content_hash, status, run_id, reason, attempts, first_failed_at, updated_at, files, archive, archive_dir)
                        VALUES (?, ?, ?, 'ok', ?, NULL, 1, NULL, ?, ?, ?, ?)
                        ON CONFLICT (inbox, record_key) DO UPDATE SET content_hash = excluded.content_hash, status = 'ok',
                            run_id = excluded.run_id, reason = NULL, attempts = 1, first_failed_at = NULL,
                            updated_at = excluded.updated_at, files = excluded.files, archive = excluded.archive, archive_dir = excluded.archive_dir
                        """, arguments: [inbox, key, hash, runID, now, files,
                                         archiveDirectory == nil ? nil : NightlyArchiveState.pending.rawValue, archiveDirectory])
                case .failed:
                    processed += 1
                    failed += 1
                    let previous = try Row.fetchOne(db, sql: """
                        SELECT content_hash, status, attempts, first_failed_at FROM nightly_record WHERE inbox = ? AND record_key = ?
                        """, arguments: [inbox, key])
                    var attempts = 1
                    var firstFailed = now
                    if let previous, previous[0] as String == hash, previous[1] as String == NightlyRecordStatus.failed.rawValue {
                        attempts = (previous[2] as Int) + 1
                        firstFailed = previous[3] ?? now
                    }
                    try db.execute(sql: """
                        INSERT INTO nightly_record (inbox, record_key, content_hash, status, run_id, reason, attempts, first_failed_at, updated_at, files, archive, archive_dir)
                        VALUES (?, ?, ?, 'failed', ?, ?, ?, ?, ?, ?, NULL, NULL)
                        ON CONFLICT (inbox, record_key) DO UPDATE SET content_hash = excluded.content_hash, status = 'failed',
                            run_id = excluded.run_id, reason = excluded.reason, attempts = excluded.attempts,
                            first_failed_at = excluded.first_failed_at, updated_at = excluded.updated_at, files = excluded.files,
                            archive = NULL, archive_dir = NULL
                        """, arguments: [inbox, key, hash, runID, reason, attempts, firstFailed, now, files])
                }
            }
            try db.execute(sql: """
                UPDATE nightly_run SET state = 'committed', finished_at = ?, processed = ?, failed = ?, carried = ?, abnormal = ?
                WHERE id = ?
                """, arguments: [now, processed, failed, carried, abnormal, runID])
        }
    }

    /// Marks a run as discarded (its staging folder was removed; its records were not published)
    /// and removes the results its classification run stored, so that the records processed
    /// again by the next run are stored once.
    public func discardRun(runID: Int64, at date: Date) throws {
        try writer.write { db in
            if let classificationRun = try String.fetchOne(
                db, sql: "SELECT classification_run FROM nightly_run WHERE id = ?", arguments: [runID]),
               try db.tableExists("classification_run") {
                try db.execute(sql: "DELETE FROM classification_run WHERE id = ?", arguments: [classificationRun])
            }
            try db.execute(
                sql: "UPDATE nightly_run SET state = 'discarded', finished_at = ? WHERE id = ?",
                arguments: [date.timeIntervalSince1970, runID])
        }
    }

    /// Runs of `reports` that are neither committed nor discarded (left by a killed process).
    public func unfinishedRuns(reports: String) throws -> [NightlyRunRow] {
        try runs(reports: reports, where: "state IN ('staged', 'processed')", order: "id")
    }

    /// Committed runs of `reports`, newest first.
    public func committedRuns(reports: String) throws -> [NightlyRunRow] {
        try runs(reports: reports, where: "state = 'committed'", order: "started_at DESC, id DESC")
    }

    /// Night folder names used by runs of `reports` that are not discarded.
    public func usedDirectories(reports: String) throws -> Set<String> {
        try writer.read { db in
            Set(try String.fetchAll(db, sql: """
                SELECT directory FROM nightly_run WHERE reports = ? AND state != 'discarded' AND directory IS NOT NULL
                """, arguments: [reports]))
        }
    }

    /// The records of a run with their outcomes (nil while not processed), in key order.
    public func runRecords(runID: Int64) throws -> [(NightlyPlannedRecord, NightlyOutcomeRow?)] {
        try writer.read { db in
            try Row.fetchAll(db, sql: """
                SELECT record_key, content_hash, files, outcome, statement, abnormal, reason
                FROM nightly_run_record WHERE run_id = ? ORDER BY record_key
                """, arguments: [runID]).map { row in
                let planned = NightlyPlannedRecord(recordKey: row[0], contentHash: row[1], files: NightlyLedger.decodeFiles(row[2]))
                var outcome: NightlyOutcomeRow?
                if let raw: String = row[3], let kind = NightlyOutcomeKind(rawValue: raw) {
                    outcome = NightlyOutcomeRow(recordKey: planned.recordKey, kind: kind, statement: row[4], abnormal: row[5], reason: row[6])
                }
                return (planned, outcome)
            }
        }
    }

    /// Marks runs whose night folders were pruned.
    public func markPruned(runIDs: [Int64]) throws {
        guard !runIDs.isEmpty else { return }
        try writer.write { db in
            for id in runIDs {
                try db.execute(sql: "UPDATE nightly_run SET pruned = 1 WHERE id = ?", arguments: [id])
            }
        }
    }

    // MARK: Helpers

    private func runs(reports: String, where condition: String, order: String) throws -> [NightlyRunRow] {
        try writer.read { db in
            try Row.fetchAll(db, sql: """
                SELECT id, reports, inbox, started_at, finished_at, state, night, directory, staging,
                       processed, failed, carried, abnormal, waiting, pruned
                FROM nightly_run WHERE reports = ? AND \(condition) ORDER BY \(order)
                """, arguments: [reports]).map { row in
                NightlyRunRow(
                    id: row[0], reports: row[1], inbox: row[2],
                    startedAt: Date(timeIntervalSince1970: row[3]),
                    finishedAt: (row[4] as Double?).map { Date(timeIntervalSince1970: $0) },
                    state: NightlyRunState(rawValue: row[5]) ?? .discarded,
                    night: row[6], directory: row[7], staging: row[8],
                    processed: row[9], failed: row[10], carried: row[11], abnormal: row[12], waiting: row[13], pruned: row[14])
            }
        }
    }

    private static func entry(_ row: Row, files: [String]) -> NightlyLedgerEntry {
        NightlyLedgerEntry(
            recordKey: row[0], contentHash: row[1],
            status: NightlyRecordStatus(rawValue: row[2]) ?? .failed,
            runID: row[3], reason: row[4], attempts: row[5],
            firstFailedAt: (row[6] as Double?).map { Date(timeIntervalSince1970: $0) },
            files: files,
            archive: (row[7] as String?).flatMap(NightlyArchiveState.init(rawValue:)),
            archiveDirectory: row[8])
    }

    static func encodeFiles(_ files: [String]) -> String {
        guard let data = try? JSONEncoder().encode(files) else { return "[]" }
        return String(decoding: data, as: UTF8.self)
    }

    static func decodeFiles(_ text: String?) -> [String] {
        guard let text else { return [] }
        return (try? JSONDecoder().decode([String].self, from: Data(text.utf8))) ?? []
    }
}

/// A ledger inconsistency (a run in an unexpected state).
public struct NightlyLedgerError: Error, Sendable, CustomStringConvertible, LocalizedError {
    /// What is wrong.
    public let message: String
    /// Describes the problem.
    public var description: String { "nightly ledger: \(message)" }
    /// Same as `description`.
    public var errorDescription: String? { description }
}


extension KnowledgeStore {
    /// The nightly runs' ledger in this knowledge base.
    public var nightly: NightlyLedger { NightlyLedger(writer: writer) }

    /// How many successful stored results each record id has across the classification runs
    /// of nightly runs (an audit of exactly-once processing: every value should be 1 unless a
    /// record changed).
    public func nightlyStoredResultCounts() throws -> [String: Int] {
        try read("count the nightly results") { db in
            var counts: [String: Int] = [:]
            let rows = try Row.fetchCursor(db, sql: """
                SELECT r.record_id, COUNT(*) FROM record_result r
                JOIN nightly_run n ON n.classification_run = r.run_id
                WHERE r.status = 'ok' GROUP BY r.record_id
                """)
            while let row = try rows.next() { counts[row[0]] = row[1] }
            return counts
        }
    }
}
