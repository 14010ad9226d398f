import ECGCore
import Foundation
import GRDB
import KMERLTestSupport
import Testing

@testable import Knowledge

@Suite struct ReportImporterTests {
    func importer(_ store: KnowledgeStore) -> ReportImporter {
        ReportImporter(store: store, idColumn: "id", textColumn: "text") { HandBuilt.extract($0) }
    }

    func tableCounts(_ store: KnowledgeStore) throws -> [Int] {
        try store.writer.read { db in
            try ["reports", "mentions", "import_runs", "concept_report_counts", "concept_cooccurrence"].map {
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \($0)") ?? -1
            }
        }
    }

    @Test func importsMentionsAndReimportAddsNothing() throws {
        let store = try HandBuilt.store()
        let url = try temporaryFile(
            "reports.csv",
            """
            id,text
            a1,"Sinus rhythm, left bundle branch block"
            a2,"Inferior infarction in II, III, aVF marked"
            a3,sinus rhythm. no left bundle branch block
            a4,
            a5,Sinus rhythm

            """)
        let summary = try importer(store).importFile(url)
        #expect(summary.format == .generic)
        #expect(summary.rowsRead == 5)
        #expect(summary.reportsAdded == 4)
        #expect(summary.rowsSkipped == 1)
        #expect(summary.skippedExamples == ["line 5 (row 4): empty report (id a4)"])
        #expect(summary.mentionsAdded == 6)
        let again = try importer(store).importFile(url)
        #expect(again.reportsAdded == 0)
        #expect(again.reportsAlreadyPresent == 4)
        #expect(again.mentionsAdded == 0)
        #expect(try tableCounts(store)[0...1] == [4, 6])
        // The import's connection settings (statement journals in memory, foreign keys off) do not outlive it.
        let pragmas = try store.writer.writeWithoutTransaction { db in
            [try Int.fetchOne(db, sql: "PRAGMA temp_store"), try Int.fetchOne(db, sql: "PRAGMA foreign_keys")]
        }
        #expect(pragmas == [0, 1])

        let summaryOfCLBBB = try store.summary(of: #require(try store.concept(id: "CLBBB")))
        #expect(summaryOfCLBBB.reportsByAssertion.map(\.count) == [1, 1, 0, 0])
        #expect(summaryOfCLBBB.cooccurring.map(\.conceptID) == ["SR"])
        let imi = try store.summary(of: #require(try store.concept(id: "IMI")))
        #expect(imi.leads == [NamedCount(name: "II", count: 1), NamedCount(name: "III", count: 1), NamedCount(name: "aVF", count: 1)])
        #expect(imi.severity == [NamedCount(name: "marked", count: 1)])
        #expect(imi.excerpts.first?.marked == "[[Inferior infarction]] in II, III, aVF marked")
        #expect(imi.excerpts.first?.reportID == "a2")

        let pairs = try store.trainingPairs()
        #expect(pairs.map(\.externalID) == ["a1", "a2", "a3", "a5"])
        #expect(pairs[1].mentions.first?.leads == [.ii, .iii, .aVF])
    }

    @Test func aFailedImportLeavesTheBaseUnchanged() throws {
        let store = try HandBuilt.store()
        let good = try temporaryFile("good.csv", "id,text\n1,sinus rhythm\n")
        _ = try importer(store).importFile(good)
        let before = try tableCounts(store)
        // Good rows first, then a row that ends inside a quote: nothing of it may stay.
        let broken = try temporaryFile("broken.csv", "id,text\n2,left bundle branch block\n3,sinus rhythm\n4,\"open\n")
        #expect(throws: CSVError(file: broken.path, line: 4, row: 3, kind: .unterminatedQuote)) {
            try importer(store).importFile(broken)
        }
        #expect(try tableCounts(store) == before)
        var invalid = Data("id,text\n5,sinus rhythm\n6,".utf8)
        invalid.append(0xFF)
        let badUTF8 = try temporaryFile("utf8.csv", invalid)
        #expect { try importer(store).importFile(badUTF8) } throws: { "\($0)".contains("\(badUTF8.path):3 (row 2)") }
        #expect(try tableCounts(store) == before)
    }
}
