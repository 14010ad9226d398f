import ECGCore
import Foundation
import Knowledge

/// The nightly processing step: `BatchClassifier` over the night's new and changed records,
/// writing classify's outputs (index.html, records/, findings.csv, summary.csv, run.json) into
/// the night's staging folder. Earlier failures that are not retried are passed as skipped
/// inputs, so every night's report lists them with their reason.
///
/// The classification run stored in the knowledge base is tied to the nightly run, so that a
/// discarded (killed) night also loses its stored results and a record is stored once.
public struct ClassifyingProcessor: NightlyProcessor {
    /// Makes the classifier (model, concepts, options). Called only when a night has records to
    /// process, so that a night with nothing new does not load the model.
    public let makeClassifier: @Sendable () throws -> BatchClassifier
    /// The knowledge base the results are stored in.
    public let store: KnowledgeStore
    /// A pause after each record (tests use it to kill a run in the middle).
    public var delayPerRecord: TimeInterval
    /// When set, processing stops (sleeps) once this many records are written, so that a test can
    /// kill the run in the middle however slowly it polls.
    public var haltAfterRecords: Int?

    /// A processor whose classifier is made on first use, storing results in `store`.
    public init(
        store: KnowledgeStore, delayPerRecord: TimeInterval = 0, haltAfterRecords: Int? = nil,
        makeClassifier: @escaping @Sendable () throws -> BatchClassifier
    ) {
        self.makeClassifier = makeClassifier
        self.store = store
        self.delayPerRecord = delayPerRecord
        self.haltAfterRecords = haltAfterRecords
    }

    /// Classifies `batch` into `directory`.
    public func process(_ batch: NightlyBatch, into directory: URL) async throws -> [NightlyRecordOutcome] {
        let base = try makeClassifier()
        let results = NightlyResultStore(store: store, ledger: store.nightly, runID: batch.runID)
        let classifier = try BatchClassifier(classifier: base.classifier, store: results, knowledgeBaseVersion: base.knowledgeBaseVersion)
        let inputs = batch.records.map { BatchInput(id: $0.name, primary: $0.primary, files: $0.fileURLs) }
        let skipped = batch.carried.map { failure in
            Diagnostic(
                severity: .error, file: failure.record.primary.path,
                message: "failed in an earlier run (\(failure.attempts) attempt(s)"
                    + (failure.since.map { " since \(ISO8601DateFormatter().string(from: $0))" } ?? "")
                    + "); not retried (use --retry-failed): \(failure.reason)")
        }
        let delay = delayPerRecord
        let halt = haltAfterRecords
        var progress: (@Sendable (Int, Int) -> Void)?
        if delay > 0 || halt != nil {
            progress = { @Sendable (done: Int, _: Int) in
                if delay > 0 { Thread.sleep(forTimeInterval: delay) }
                if let halt, done >= halt {
                    FileHandle.standardError.write(Data("kmerl-batch nightly: halted after \(done) records\n".utf8))
                    Thread.sleep(forTimeInterval: 600)
                }
            }
        }
        let summary = try await classifier.classify(
            inputs, skipped: skipped, into: directory, inputPaths: [batch.inbox.path], progress: progress)

        var bySource: [String: RecordOutcome] = [:]
        var byID: [String: [RecordOutcome]] = [:]
        for outcome in summary.outcomes {
            bySource[outcome.source] = outcome
            byID[outcome.id, default: []].append(outcome)
        }
        return batch.records.compactMap { record in
            let outcome = bySource[record.primary.path] ?? bySource[record.primary.standardizedFileURL.path]
                ?? (byID[record.name]?.count == 1 ? byID[record.name]?.first : nil)
            guard let outcome else { return nil }  // the runner records a missing outcome as a failure
            return NightlyRecordOutcome(
                key: record.key, ok: outcome.isOK, statement: outcome.overall?.rawValue,
                abnormal: outcome.overall == .abnormal, reason: outcome.failure)
        }
    }
}

/// Stores classification results in the knowledge base and ties the classification run to the
/// nightly run before anything is stored.
struct NightlyResultStore: BatchResultStore {
    let store: KnowledgeStore
    let ledger: NightlyLedger
    let runID: Int64

    func beginRun(_ run: StoredClassificationRun) throws {
        try ledger.attachClassificationRun(runID: runID, classificationRunID: run.id)
        try store.beginRun(run)
    }

    func storeResults(_ results: [StoredRecordResult], runID: String) throws {
        try store.storeResults(results, runID: runID)
    }

    func finishRun(id: String, finishedAt: Date, processed: Int, failed: Int, abnormal: Int) throws {
        try store.finishRun(id: id, finishedAt: finishedAt, processed: processed, failed: failed, abnormal: abnormal)
    }
}
