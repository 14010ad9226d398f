import ECGFormats
import Foundation
import KMERLResources
import KMERLTestSupport
import Reports
import Testing

@testable import Classification

/// The default model and the ontology's criteria on real records with known diagnoses.
@Suite struct ClassificationQualityTests {
    @Test func ludbCompleteLBBBRecordsGetTheFindingWithQRSEvidence() async throws {
        #expect(EmbeddedResources.data(BatchClassifier.embeddedModelPath) != nil, "the default model must be embedded")
        let dir = try SharedData.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let inbox = dir.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: inbox, withIntermediateDirectories: true)
        // LUDB records whose diagnoses include "Complete left bundle branch block".
        let ids = ["24", "44", "51", "83"]
        for id in ids {
            let header = try String(contentsOf: try SharedData.url("ludb/data/\(id).hea"), encoding: .utf8)
            #expect(header.contains("Complete left bundle branch block"))
            for ext in ["hea", "dat"] { try BatchClassifierTests.copy("ludb/data/\(id).\(ext)", to: inbox) }
        }
        let out = dir.appendingPathComponent("out")
        let batch = try BatchClassifier(store: nil, modelData: nil, options: ClassifyOptions())
        let discovery = RecordDiscovery.discover([inbox])
        let summary = try await batch.classify(discovery.records, skipped: discovery.skipped, into: out)
        #expect(summary.processed == 4 && summary.exitCode == 0)
        let rows = try BatchClassifierTests.csv(out.appendingPathComponent("findings.csv")).filter { $0["concept_id"] == "CLBBB" }
        #expect(rows.count == 4)
        for row in rows {
            let p = try #require(Double(row["probability"] ?? ""))
            #expect(p >= 0.5, "record \(row["record_id"] ?? "?"): CLBBB probability \(p)")
            #expect(row["codes"]?.contains("SCP:CLBBB") == true && row["codes"]?.contains("SNOMED:") == true)
        }
        for id in ids {
            let page = try String(contentsOf: out.appendingPathComponent("records/\(id).html"), encoding: .utf8)
            let findings = try #require(page.range(of: "<table id=\"findings\">"))
            let table = page[findings.lowerBound...]
            #expect(table.contains("complete left bundle branch block"))
            // Evidence "QRS duration N ms ≥ 120 ms" with N ≥ 120.
            let evidence = try #require(table.range(of: "QRS duration "))
            let number = table[evidence.upperBound...].prefix { $0.isNumber }
            let qrs = try #require(Double(number))
            #expect(qrs >= 120, "record \(id): QRS \(qrs)")
            #expect(table[evidence.upperBound...].hasPrefix("\(number) ms ≥ 120 ms"))
        }
    }
}
