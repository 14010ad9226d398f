import ECGCore
import ECGFormats
import Foundation
import KMERLModel
import KMERLResources
import KMERLTestSupport
import Knowledge
import Reports
import Testing

@testable import Classification

/// The batch on real records: outputs parsed back and checked. These tests are about the batch's
/// mechanics (failures, lead columns, order, storage), so they run with the encoder's real code
/// whatever its weights; `ClassificationQualityTests` checks the findings of the default model.
@Suite struct BatchClassifierTests {
    static let modelData: Data = {
        // The embedded default model when the build has one; otherwise a deterministic untrained
        // encoder, which exercises the same code paths.
        if let data = EmbeddedResources.data(BatchClassifier.embeddedModelPath) { return data }
        return (try? KMERLEncoderModel.untrained(seed: 7).safetensorsData()) ?? Data()
    }()

    static func copy(_ relative: String, to folder: URL, as name: String? = nil) throws {
        let source = try SharedData.url(relative)
        try FileManager.default.copyItem(at: source, to: folder.appendingPathComponent(name ?? source.lastPathComponent))
    }

    static func run(
        _ folder: URL, options: ClassifyOptions = ClassifyOptions(), store: KnowledgeStore? = nil
    ) async throws -> (BatchSummary, URL) {
        let out = folder.deletingLastPathComponent().appendingPathComponent(folder.lastPathComponent + "-out")
        let batch = try BatchClassifier(store: store, modelData: modelData, options: options)
        let discovery = RecordDiscovery.discover([folder])
        let summary = try await batch.classify(discovery.records, skipped: discovery.skipped, into: out)
        return (summary, out)
    }

    static func csv(_ url: URL) throws -> [[String: String]] {
        let rows = CSV.parse(try String(contentsOf: url, encoding: .utf8))
        guard let header = rows.first else { return [] }
        return rows.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(header, $0)) }
    }

    @Test func badInputFolderListsEveryBadFileAndProcessesEveryGoodOne() async throws {
        let dir = try SharedData.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let inbox = dir.appendingPathComponent("inbox")
        try FileManager.default.createDirectory(at: inbox.appendingPathComponent("nested/deeper"), withIntermediateDirectories: true)
        // Good: a LUDB record at the top, a PTB-XL record two folders down (discovery is recursive).
        try Self.copy("ludb/data/24.hea", to: inbox)
        try Self.copy("ludb/data/24.dat", to: inbox)
        try Self.copy("ptbxl/records100/00000/00024_lr.hea", to: inbox.appendingPathComponent("nested/deeper"))
        try Self.copy("ptbxl/records100/00000/00024_lr.dat", to: inbox.appendingPathComponent("nested/deeper"))
        // Truncated: a real header whose signal file lost most of its bytes.
        try Self.copy("ludb/data/44.hea", to: inbox)
        let dat = try Data(contentsOf: try SharedData.url("ludb/data/44.dat"))
        try dat.prefix(dat.count / 3).write(to: inbox.appendingPathComponent("44.dat"))
        // Empty header, a header whose signal file is missing, and files that are no ECG at all.
        try Data().write(to: inbox.appendingPathComponent("empty.hea"))
        try Self.copy("ludb/data/51.hea", to: inbox)
        try Data("Patient list, do not open\n".utf8).write(to: inbox.appendingPathComponent("notes.txt"))
        try Data("name,age\nA,3\n".utf8).write(to: inbox.appendingPathComponent("patients.csv"))

        let (summary, out) = try await Self.run(inbox)
        #expect(summary.processed == 2)
        #expect(summary.exitCode == 3)
        let failedSources = Set(summary.outcomes.filter { !$0.isOK }.map { URL(fileURLWithPath: $0.source).lastPathComponent })
        for bad in ["44.hea", "empty.hea", "51.hea", "notes.txt", "patients.csv"] {
            #expect(failedSources.contains(bad), "\(bad) should be listed as failed: \(failedSources)")
        }
        #expect(summary.failed == failedSources.count)
        // Listed with reasons in index.html and run.json; good records have pages.
        let index = try String(contentsOf: out.appendingPathComponent("index.html"), encoding: .utf8)
        for bad in ["44.hea", "empty.hea", "51.hea", "notes.txt", "patients.csv"] { #expect(index.contains(bad)) }
        #expect(index.contains("href=\"records/24.html\"") && index.contains("href=\"records/00024_lr.html\""))
        let run = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("run.json"))) as? [String: Any]
        let errors = run?["errors"] as? [[String: String]] ?? []
        #expect(errors.count == summary.failed)
        #expect(errors.allSatisfy { !($0["reason"] ?? "").isEmpty })
        let counts = run?["counts"] as? [String: Int]
        #expect(counts?["processed"] == 2 && counts?["failed"] == summary.failed)
        // summary.csv: one row per input, failures with their reason.
        let rows = try Self.csv(out.appendingPathComponent("summary.csv"))
        #expect(rows.count == summary.processed + summary.failed)
        #expect(rows.filter { $0["status"] == "failed" }.allSatisfy { !($0["error"] ?? "").isEmpty })
        // No staging or temporary file left beside or inside the report set.
        let siblings = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        #expect(siblings.allSatisfy { !$0.hasPrefix(".") })
        let pages = try FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("records").path)
        #expect(pages.sorted() == ["00024_lr.html", "24.html"])
    }

    @Test func twoLeadInputHasEmptyColumnsForTheOtherTenLeads() async throws {
        let dir = try SharedData.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let inbox = dir.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: inbox, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            at: SharedData.projectRoot.appendingPathComponent("Examples/incoming/ludb-44-I-II.csv"),
            to: inbox.appendingPathComponent("ludb-44-I-II.csv"))
        let (summary, out) = try await Self.run(inbox)
        #expect(summary.processed == 1 && summary.exitCode == 0)
        let rows = try Self.csv(out.appendingPathComponent("findings.csv"))
        // One row per concept of the embedded ontology (every one is scorable).
        #expect(rows.count == (try DefaultKnowledge.embeddedOntology().concepts.count))
        for row in rows {
            #expect(row["record_id"] == "ludb-44-I-II")
            #expect(row["leads_present"] == "I;II")
            for lead in ["I", "II"] {
                let value = try #require(Double(row["lead_\(lead)"] ?? ""))
                #expect((0...1).contains(value))
            }
            for lead in ["III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"] { #expect(row["lead_\(lead)"] == "") }
            let p = try #require(Double(row["probability"] ?? ""))
            #expect((0...1).contains(p))
        }
        let header = try String(contentsOf: out.appendingPathComponent("findings.csv"), encoding: .utf8).prefix { $0 != "\n" }
        #expect(
            header
                == "record_id,concept_id,label,codes,probability,qualifier,leads_present,lead_I,lead_II,lead_III,lead_aVR,lead_aVL,lead_aVF,lead_V1,lead_V2,lead_V3,lead_V4,lead_V5,lead_V6"
        )
        // The record page names the absent leads and draws only the two present ones.
        let page = try String(contentsOf: out.appendingPathComponent("records/ludb-44-I-II.html"), encoding: .utf8)
        #expect(page.contains("Absent leads: III aVR aVL aVF V1 V2 V3 V4 V5 V6"))
        #expect(page.components(separatedBy: "<g clip-path=").count - 1 == 2)
        // The per-lead table: a row for each present lead, one row for the ten absent ones.
        let afterTable = page.components(separatedBy: "<table id=\"leads\"")
        try #require(afterTable.count == 2)
        let leadTable = afterTable[1].components(separatedBy: "</table>")[0]
        let bodyRows = leadTable.components(separatedBy: "<tbody>")[1].components(separatedBy: "<tr").dropFirst()
        #expect(bodyRows.count == 3)
        #expect(bodyRows.first?.contains("<td>I</td><td>ok</td>") == true)
        #expect(bodyRows.last?.contains("<td>III aVR aVL aVF V1 V2 V3 V4 V5 V6</td><td>absent</td>") == true)
        // Confidence columns are concept ids with their label as a tooltip, spelled out in the legend.
        let headers = leadTable.components(separatedBy: "<th class=\"num\" title=\"").dropFirst().map { cell in
            (label: String(cell.prefix { $0 != "\"" }), id: String(cell.drop { $0 != ">" }.dropFirst().prefix { $0 != "<" }))
        }
        #expect(!headers.isEmpty)
        for header in headers { #expect(page.contains("\(header.id) = \(header.label)"), "legend for \(header.id)") }
    }

    @Test func leadsOptionKeepsOnlyTheRequestedLeadsAndStoresTheRun() async throws {
        let dir = try SharedData.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let inbox = dir.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: inbox, withIntermediateDirectories: true)
        for name in ["24.hea", "24.dat", "1.hea", "1.dat"] { try Self.copy("ludb/data/\(name)", to: inbox) }
        let store = try KnowledgeStore.inMemory()
        let (summary, out) = try await Self.run(inbox, options: ClassifyOptions(leads: [.i, .v1], concepts: ["CLBBB", "SBRAD", "NORM"]), store: store)
        #expect(summary.processed == 2)
        let rows = try Self.csv(out.appendingPathComponent("findings.csv"))
        #expect(rows.count == 6)
        #expect(Set(rows.map { $0["concept_id"] ?? "" }) == ["CLBBB", "SBRAD", "NORM"])
        #expect(rows.allSatisfy { $0["leads_present"] == "I;V1" && $0["lead_II"] == "" && $0["lead_V1"] != "" })
        // Stored in the knowledge base: one run, one result per record.
        let runs = try store.classificationRuns()
        #expect(runs.count == 1 && runs[0].processed == 2 && runs[0].id == summary.runID)
        let stored = try store.recordResults(runID: summary.runID)
        #expect(stored.map(\.recordID).sorted() == ["1", "24"])
        #expect(stored.allSatisfy { $0.status == "ok" && $0.overall != nil })
    }

    @Test func outputIsDeterministicAndAReRunReplacesTheSet() async throws {
        let dir = try SharedData.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let inbox = dir.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: inbox, withIntermediateDirectories: true)
        let ptb = try SharedData.url("ptbxl/records100/00000")
        let names = try FileManager.default.contentsOfDirectory(atPath: ptb.path).filter { $0.hasSuffix(".hea") }.sorted().prefix(12)
        for name in names {
            try Self.copy("ptbxl/records100/00000/\(name)", to: inbox)
            try Self.copy("ptbxl/records100/00000/\(name.dropLast(4)).dat", to: inbox)
        }
        let options = ClassifyOptions(jobs: 3)
        let (_, out) = try await Self.run(inbox, options: options)
        let first = try Data(contentsOf: out.appendingPathComponent("findings.csv"))
        let firstSummary = try Data(contentsOf: out.appendingPathComponent("summary.csv"))
        try Data("stale".utf8).write(to: out.appendingPathComponent("records/stale.html"))
        let (_, again) = try await Self.run(inbox, options: options)
        #expect(again.standardizedFileURL.path == out.standardizedFileURL.path)
        #expect(try Data(contentsOf: out.appendingPathComponent("findings.csv")) == first)
        #expect(try Data(contentsOf: out.appendingPathComponent("summary.csv")) == firstSummary)
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("records/stale.html").path))
        // Rows follow the record paths.
        let ids = try Self.csv(out.appendingPathComponent("summary.csv")).map { $0["record_id"] ?? "" }
        #expect(ids == names.map { String($0.dropLast(4)) })
    }

    @Test func unknownConceptIsRefusedBeforeAnythingIsWritten() throws {
        #expect(throws: RecordClassifier.RecordError.self) {
            try BatchClassifier(store: nil, modelData: Self.modelData, options: ClassifyOptions(concepts: ["NOPE"]))
        }
    }

    @Test func unreadableModelIsAClearError() {
        #expect(throws: (any Error).self) {
            try BatchClassifier(store: nil, modelData: Data("not a model".utf8), options: ClassifyOptions())
        }
    }
}
