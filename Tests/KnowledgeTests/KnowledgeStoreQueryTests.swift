import ECGCore
import Foundation
import GRDB
import KMERLResources
import KMERLTestSupport
import Testing

@testable import Knowledge

/// One PTB-XL base (embedded ontology + shipped extractor), imported once for these tests.
enum RealBase {
    struct Fixture: Sendable {
        let store: KnowledgeStore
        let first: ImportSummary
        let second: ImportSummary
        let extractor: Extractor
    }

    static let fixture: Result<Fixture, any Error> = Result {
        let xml = try #require(EmbeddedResources.data(Ontology.embeddedPath))
        let xsd = try #require(EmbeddedResources.data(Ontology.embeddedSchemaPath))
        let ontology = try Ontology.load(xml: xml, schema: xsd, name: Ontology.embeddedPath)
        let directory = try SharedData.temporaryDirectory("kmerl-kb-real")
        let store = try KnowledgeStore(path: directory.appendingPathComponent("kb.sqlite").path)
        try store.loadOntology(ontology)
        let extractor = Extractor(concepts: try store.concepts())
        let importer = ReportImporter(store: store) { extractor.extract($0) }
        let url = try SharedData.url("ptbxl/ptbxl_database.csv")
        let first = try importer.importFile(url)
        let second = try importer.importFile(url)
        return Fixture(store: store, first: first, second: second, extractor: extractor)
    }

    static func get() throws -> Fixture { try fixture.get() }
}

@Suite struct KnowledgeStoreQueryTests {
    @Test func ptbxlImportCountsAndReimportAddsNothing() throws {
        let base = try RealBase.get()
        #expect(base.first.rowsRead == 19_634)
        #expect(base.first.reportsAdded == 19_633)
        #expect(base.first.skippedExamples == ["line 385 (row 384): empty report (ecg_id 443)"])
        #expect(base.second.reportsAdded == 0)
        #expect(base.second.mentionsAdded == 0)
        #expect(base.second.reportsAlreadyPresent == 19_633)
        let stats = try base.store.stats()
        #expect(stats.reports == 19_633)
        #expect(stats.mentions == base.first.mentionsAdded)
        #expect(stats.mentionsByAssertion.reduce(0) { $0 + $1.count } == stats.mentions)
        #expect(stats.ontologyVersion != nil)
        #expect(base.store.version.contains("19633 reports"))
    }

    @Test func clbbbSummaryAgreesWithTheReportsThemselves() throws {
        let base = try RealBase.get()
        // Independent count: run the extractor over the CSV's reports directly.
        let source = try ReportSource(url: try SharedData.url("ptbxl/ptbxl_database.csv"))
        var present = Set<String>()
        var negated = Set<String>()
        var leadCounts: [StandardLead: Int] = [:]
        while let row = try source.next() {
            guard case .report(let report) = row else { continue }
            for mention in base.extractor.extract(report.text) where mention.conceptID == "CLBBB" {
                if mention.assertion == .present { present.insert(report.externalID) }
                if mention.assertion == .negated { negated.insert(report.externalID) }
                for lead in Set(mention.leads) { leadCounts[lead, default: 0] += 1 }
            }
        }
        let resolution = try base.store.resolve("linksschenkelblock")
        let concept = try #require(resolution.concept)
        #expect(concept.id == "CLBBB")
        let summary = try base.store.summary(of: concept)
        #expect(summary.reportsByAssertion[0] == NamedCount(name: "present", count: present.count))
        #expect(summary.reportsByAssertion[1] == NamedCount(name: "negated", count: negated.count))
        #expect(summary.leads.map(\.count).reduce(0, +) == leadCounts.values.reduce(0, +))
        // PTB-XL labels 482 reports CLBBB in scp_codes; the reports name it at least that often.
        #expect(present.count >= 450)
        #expect(summary.concept.codesText.contains("SNOMED:164909002"))
        #expect(summary.parents.first?.name.hasPrefix("CD") == true)
        #expect(summary.excerpts.count == 3)
        for excerpt in summary.excerpts {
            #expect(present.contains(excerpt.reportID) || negated.contains(excerpt.reportID) || excerpt.assertion != .present)
            #expect(excerpt.marked.contains("[[\(excerpt.mention)]]"))
        }
        #expect(summary.cooccurring.first?.conceptID == "SR")
    }

    @Test func queryTextsResolveOrSuggest() throws {
        let base = try RealBase.get()
        #expect(try base.store.resolve("164909002").concept?.id == "CLBBB")
        #expect(try base.store.resolve("LBBB").concept?.id == "CLBBB")
        guard case .notFound(let suggestions) = try base.store.resolve("linkschenkelblok") else {
            Issue.record("expected a near miss")
            return
        }
        #expect(suggestions.first?.conceptID == "CLBBB")
    }

    @Test func exportRowsMatchTheMentions() throws {
        let base = try RealBase.get()
        var data = Data()
        let rows = try base.store.exportMentionsCSV { data.append($0) }
        #expect(rows == base.first.mentionsAdded)
        // Read the export back with the importer's own RFC 4180 reader.
        let url = try temporaryFile("mentions.csv", data)
        let reader = try CSVReader(url: url)
        #expect(reader.header.joined(separator: ",") == "report_id,concept_id,label,codes,assertion,leads,severity,acuity,location")
        var read = 0
        var firstRow: [String] = []
        var withLeads = 0
        while try reader.nextRecord() {
            try reader.requireHeaderWidth()
            if read == 0 { firstRow = try (0..<9).map { try reader.string(at: $0, column: "\($0)") } }
            let leads = try reader.string(at: 5, column: "leads")
            if !leads.isEmpty {
                withLeads += 1
                #expect(leads.split(separator: ";").allSatisfy { Lead.standard(forAlias: String($0))?.name == String($0) })
            }
            read += 1
        }
        #expect(read == rows)
        #expect(withLeads > 0)
        // ecg_id 1: "sinusrhythmus periphere niederspannung" → sinus rhythm first.
        let sr = try #require(try base.store.concept(id: "SR"))
        #expect(firstRow == ["1", "SR", sr.label, sr.codesText, "present", "", "", "", ""])
    }

    @Test func trainingPairsCarryEcgIDsAndMentions() throws {
        let base = try RealBase.get()
        let pairs = try base.store.trainingPairs(format: .ptbxl)
        #expect(pairs.count == 19_633)
        #expect(pairs[0].externalID == "1")
        #expect(pairs[0].text == "sinusrhythmus periphere niederspannung")
        #expect(pairs[0].mentions == base.extractor.extract(pairs[0].text))
    }
}
