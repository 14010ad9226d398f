import Foundation
import GRDB

/// Tables that keep classification runs and their per-record results in the knowledge base.
///
/// Registered by `KnowledgeStore` after the knowledge tables; owned by classification.
///
/// - `classification_run`: one row per `kmerl-batch classify` (or nightly) run: when, what was read,
///   which model and knowledge-base versions, the counts and the output folder.
/// - `record_result`: one row per record of a run, processed or failed, with its overall statement,
///   measurements (JSON) and its reported findings with evidence (JSON; every scored probability is in findings.csv).
/// - `record_finding`: the reported findings (those with a qualifier), one row each, for queries
///   such as "every record with probable CLBBB".
enum ResultsSchema {
    /// Adds this schema's migrations, in order, to `migrator`.
    static func registerMigrations(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("results-v1") { db in
            try db.create(table: "classification_run") { t in
                t.primaryKey("id", .text)
                t.column("started_at", .datetime).notNull()
                t.column("finished_at", .datetime)
                t.column("inputs", .text).notNull()  // JSON array of paths
                t.column("output", .text).notNull()
                t.column("model_version", .text).notNull()
                t.column("kb_version", .text).notNull()
                t.column("options", .text).notNull()  // JSON
                t.column("processed", .integer).notNull().defaults(to: 0)
                t.column("failed", .integer).notNull().defaults(to: 0)
                t.column("abnormal", .integer).notNull().defaults(to: 0)
            }
            try db.create(table: "record_result") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("run_id", .text).notNull().references("classification_run", onDelete: .cascade)
                t.column("record_id", .text).notNull()
                t.column("source", .text).notNull()
                t.column("status", .text).notNull().check { ["ok", "failed"].contains($0) }
                t.column("reason", .text)
                t.column("format", .text)
                t.column("leads_present", .text)
                t.column("overall", .text)
                t.column("quality", .double)
                t.column("measurements", .text)  // JSON RecordMeasurements (without beats)
                t.column("findings", .text)  // JSON [Finding] of the reported findings, with evidence and per-lead confidence
                t.uniqueKey(["run_id", "source"])
            }
            try db.create(index: "record_result_record", on: "record_result", columns: ["record_id"])
            try db.create(table: "record_finding") { t in
                t.column("result_id", .integer).notNull().references("record_result", onDelete: .cascade)
                t.column("concept_id", .text).notNull()
                t.column("probability", .double).notNull()
                t.column("qualifier", .text).notNull()
                t.primaryKey(["result_id", "concept_id"])
            }
            try db.create(index: "record_finding_concept", on: "record_finding", columns: ["concept_id", "probability"])
        }
    }
}

/// A classification run as stored in `classification_run`.
public struct StoredClassificationRun: Sendable, Hashable {
    public var id: String
    public var startedAt: Date
    public var finishedAt: Date?
    /// The input paths, JSON array.
    public var inputsJSON: String
    public var output: String
    public var modelVersion: String
    public var knowledgeBaseVersion: String
    /// The options, JSON object.
    public var optionsJSON: String
    public var processed: Int
    public var failed: Int
    public var abnormal: Int

    public init(
        id: String, startedAt: Date, finishedAt: Date? = nil, inputsJSON: String, output: String, modelVersion: String,
        knowledgeBaseVersion: String, optionsJSON: String, processed: Int = 0, failed: Int = 0, abnormal: Int = 0
    ) {
        self.id = id
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.inputsJSON = inputsJSON
        self.output = output
        self.modelVersion = modelVersion
        self.knowledgeBaseVersion = knowledgeBaseVersion
        self.optionsJSON = optionsJSON
        self.processed = processed
        self.failed = failed
        self.abnormal = abnormal
    }
}

/// One record's result as stored in `record_result` (and its reported findings in `record_finding`).
public struct StoredRecordResult: Sendable, Hashable {
    public var recordID: String
    public var source: String
    /// `ok` or `failed`.
    public var status: String
    public var reason: String?
    public var format: String?
    /// `I;II;V2`.
    public var leadsPresent: String?
    public var overall: String?
    public var quality: Double?
    /// JSON of the measurements.
    public var measurementsJSON: String?
    /// JSON of the reported findings (with evidence and per-lead confidence).
    public var findingsJSON: String?
    /// The reported findings: concept id, probability, qualifier.
    public var reported: [ReportedFinding]

    /// One reported finding of a record.
    public struct ReportedFinding: Sendable, Hashable {
        public var conceptID: String
        public var probability: Double
        public var qualifier: String

        public init(conceptID: String, probability: Double, qualifier: String) {
            self.conceptID = conceptID
            self.probability = probability
            self.qualifier = qualifier
        }
    }

    public init(
        recordID: String, source: String, status: String, reason: String? = nil, format: String? = nil, leadsPresent: String? = nil,
        overall: String? = nil, quality: Double? = nil, measurementsJSON: String? = nil, findingsJSON: String? = nil,
        reported: [ReportedFinding] = []
    ) {
        self.recordID = recordID
        self.source = source
        self.status = status
        self.reason = reason
        self.format = format
        self.leadsPresent = leadsPresent
        self.overall = overall
        self.quality = quality
        self.measurementsJSON = measurementsJSON
        self.findingsJSON = findingsJSON
        self.reported = reported
    }
}

/// Writes classification runs and results into the `ResultsSchema` tables of a database.
/// Every value is a bound parameter.
public enum ResultsTables {
    /// Inserts the run row.
    public static func insert(_ run: StoredClassificationRun, in db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO classification_run (id, started_at, finished_at, inputs, output, model_version, kb_version, options, processed, failed, abnormal)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                run.id, run.startedAt, run.finishedAt, run.inputsJSON, run.output, run.modelVersion, run.knowledgeBaseVersion,
                run.optionsJSON, run.processed, run.failed, run.abnormal,
            ])
    }

    /// Inserts (or replaces, for a record stored twice in one run) record results of run `runID`.
    public static func insert(_ results: [StoredRecordResult], runID: String, in db: Database) throws {
        for r in results {
            try db.execute(sql: "DELETE FROM record_result WHERE run_id = ? AND source = ?", arguments: [runID, r.source])
            try db.execute(
                sql: """
                    INSERT INTO record_result (run_id, record_id, source, status, reason, format, leads_present, overall, quality, measurements, findings)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    runID, r.recordID, r.source, r.status, r.reason, r.format, r.leadsPresent, r.overall, r.quality, r.measurementsJSON,
                    r.findingsJSON,
                ])
            let resultID = db.lastInsertedRowID
            for f in r.reported {
                try db.execute(
                    sql: "INSERT INTO record_finding (result_id, concept_id, probability, qualifier) VALUES (?, ?, ?, ?)",
                    arguments: [resultID, f.conceptID, f.probability, f.qualifier])
            }
        }
    }

    /// Records the end of run `id` with its counts.
    public static func finish(runID id: String, finishedAt: Date, processed: Int, failed: Int, abnormal: Int, in db: Database) throws {
        try db.execute(
            sql: "UPDATE classification_run SET finished_at = ?, processed = ?, failed = ?, abnormal = ? WHERE id = ?",
            arguments: [finishedAt, processed, failed, abnormal, id])
    }
}
