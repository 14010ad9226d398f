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

/// Which findings a reader sees first (index.html, summary.csv, the record page's headline).
@Suite struct TopFindingsTests {
    static func finding(_ id: String, _ p: Double, zeroShot: Bool = false) -> Finding {
        var f = Finding(conceptID: id, label: id, codes: "", probability: p, qualifier: zeroShot ? .consider : .definite)
        f.isZeroShot = zeroShot
        return f
    }

    @Test func calibratedFindingsComeBeforeUncalibratedZeroShotOnes() throws {
        let record = try ECGReader.read(try SharedData.url("ludb/data/10.hea"))
        let findings = [
            Self.finding("VTRIG", 0.90, zeroShot: true), Self.finding("SR", 0.85), Self.finding("IMI", 0.77),
            Self.finding("NORM_AXIS", 0.85), Self.finding("AJR", 0.96, zeroShot: true),
        ].sorted { $0.probability > $1.probability }  // as RecordResult keeps them
        let result = RecordResult(
            recordID: "10", source: "ludb/data/10.hea", format: record.sourceFormat, samplingRate: record.samplingRate,
            duration: record.duration, leadsPresent: record.standardLeads, measurements: .init(record: "10"), findings: findings,
            overall: .abnormal, quality: 1, warnings: [], record: record)
        // SR and the axis decide the overall statement; IMI is calibrated but not deciding.
        let top = ReportBuilder.top(result, count: 3, deciding: ["SR", "NORM_AXIS"])
        #expect(top.map(\.conceptID) == ["SR", "NORM_AXIS", "IMI"])
        // Zero-shot findings fill in only when fewer calibrated ones are reported.
        #expect(ReportBuilder.top(result, count: 4, deciding: ["SR", "NORM_AXIS"]).map(\.conceptID) == ["AJR", "SR", "NORM_AXIS", "IMI"])
    }
}
