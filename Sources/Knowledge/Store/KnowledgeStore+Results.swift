import Foundation
import GRDB

/// A stored classification run with its counts, as listed by `classificationRuns()`.
public struct ClassificationRunSummary: Sendable, Hashable {
    public var id: String
    public var startedAt: Date
    public var finishedAt: Date?
    public var output: String
    public var modelVersion: String
    public var knowledgeBaseVersion: String
    public var processed: Int
    public var failed: Int
    public var abnormal: Int
}

/// A stored record result, as listed by `recordResults(runID:)`.
public struct StoredRecordSummary: Sendable, Hashable {
    public var recordID: String
    public var source: String
    public var status: String
    public var reason: String?
    public var overall: String?
    /// The reported findings: concept id → probability.
    public var reported: [String: Double]
}

extension KnowledgeStore {
    /// Records the start of a classification run.
    public func beginRun(_ run: StoredClassificationRun) throws {
        do {
            try writer.write { db in try ResultsTables.insert(run, in: db) }
        } catch {
            throw KnowledgeStoreError.from(error, path: path, action: "record classification run \(run.id)")
        }
    }

    /// Stores record results of run `runID` in one transaction.
    public func storeResults(_ results: [StoredRecordResult], runID: String) throws {
        do {
            try writer.write { db in try ResultsTables.insert(results, runID: runID, in: db) }
        } catch {
            throw KnowledgeStoreError.from(error, path: path, action: "store record results of run \(runID)")
        }
    }

    /// Records the end of run `id` with its counts.
    public func finishRun(id: String, finishedAt: Date, processed: Int, failed: Int, abnormal: Int) throws {
        do {
            try writer.write { db in
                try ResultsTables.finish(runID: id, finishedAt: finishedAt, processed: processed, failed: failed, abnormal: abnormal, in: db)
            }
        } catch {
            throw KnowledgeStoreError.from(error, path: path, action: "finish classification run \(id)")
        }
    }

    /// Every classification run, newest first.
    public func classificationRuns() throws -> [ClassificationRunSummary] {
        do {
            return try writer.read { db in
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT id, started_at, finished_at, output, model_version, kb_version, processed, failed, abnormal
                        FROM classification_run ORDER BY started_at DESC, id
                        """
                ).map { row in
                    ClassificationRunSummary(
                        id: row["id"], startedAt: row["started_at"], finishedAt: row["finished_at"], output: row["output"],
                        modelVersion: row["model_version"], knowledgeBaseVersion: row["kb_version"], processed: row["processed"],
                        failed: row["failed"], abnormal: row["abnormal"])
                }
            }
        } catch {
            throw KnowledgeStoreError.from(error, path: path, action: "list classification runs")
        }
    }

    /// The record results of run `runID`, in storage order, with their reported findings.
    public func recordResults(runID: String) throws -> [StoredRecordSummary] {
        do {
            return try writer.read { db in
                let rows = try Row.fetchAll(
                    db, sql: "SELECT id, record_id, source, status, reason, overall FROM record_result WHERE run_id = ? ORDER BY id",
                    arguments: [runID])
                var reported: [Int64: [String: Double]] = [:]
                let findings = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT f.result_id, f.concept_id, f.probability FROM record_finding f
                        JOIN record_result r ON r.id = f.result_id WHERE r.run_id = ?
                        """, arguments: [runID])
                for f in findings {
                    reported[f["result_id"], default: [:]][f["concept_id"]] = f["probability"]
                }
                return rows.map { row in
                    let id: Int64 = row["id"]
                    return StoredRecordSummary(
                        recordID: row["record_id"], source: row["source"], status: row["status"], reason: row["reason"],
                        overall: row["overall"], reported: reported[id] ?? [:])
                }
            }
        } catch {
            throw KnowledgeStoreError.from(error, path: path, action: "read the results of run \(runID)")
        }
    }
}
