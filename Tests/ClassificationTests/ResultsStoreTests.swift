import Foundation
import Knowledge
import Testing

@testable import Classification

/// The classification tables of the knowledge base (ResultsSchema + KnowledgeStore+Results).
@Suite struct ResultsStoreTests {
    @Test func runAndResultsRoundTrip() throws {
        let store = try KnowledgeStore.inMemory()
        let started = Date(timeIntervalSince1970: 1_700_000_000)
        try store.beginRun(
            StoredClassificationRun(
                id: "run-1", startedAt: started, inputsJSON: "[\"Examples/incoming\"]", output: "/tmp/out", modelVersion: "m1",
                knowledgeBaseVersion: "kb1", optionsJSON: "{}"))
        try store.storeResults(
            [
                StoredRecordResult(
                    recordID: "24", source: "ludb/24.hea", status: "ok", format: "wfdb", leadsPresent: "I;II", overall: "abnormal ECG",
                    quality: 0.9, measurementsJSON: "{}", findingsJSON: "[]",
                    reported: [.init(conceptID: "CLBBB", probability: 0.91, qualifier: "definite")]),
                StoredRecordResult(recordID: "bad", source: "bad.hea", status: "failed", reason: "truncated signal file"),
            ], runID: "run-1")
        // Storing a record again in the same run replaces it (a retried batch does not duplicate).
        try store.storeResults(
            [StoredRecordResult(recordID: "bad", source: "bad.hea", status: "failed", reason: "still truncated")], runID: "run-1")
        try store.finishRun(id: "run-1", finishedAt: started.addingTimeInterval(5), processed: 1, failed: 1, abnormal: 1)

        let runs = try store.classificationRuns()
        #expect(runs.count == 1)
        #expect(runs[0].id == "run-1" && runs[0].processed == 1 && runs[0].failed == 1 && runs[0].abnormal == 1)
        #expect(runs[0].finishedAt == started.addingTimeInterval(5))
        let results = try store.recordResults(runID: "run-1")
        #expect(results.map(\.recordID) == ["24", "bad"])
        #expect(results[0].reported == ["CLBBB": 0.91])
        #expect(results[1].status == "failed" && results[1].reason == "still truncated")
    }

    @Test func resultsOfAnUnknownRunAreRefused() throws {
        let store = try KnowledgeStore.inMemory()
        #expect(throws: (any Error).self) {
            try store.storeResults([StoredRecordResult(recordID: "x", source: "x.hea", status: "ok")], runID: "nope")
        }
    }
}
