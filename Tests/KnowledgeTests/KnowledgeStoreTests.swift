import ECGCore
import Foundation
import GRDB
import KMERLTestSupport
import Testing

@testable import Knowledge

@Suite struct KnowledgeStoreTests {
    @Test func conceptsRoundTripThroughTheBase() throws {
        let store = try HandBuilt.store()
        #expect(try store.concepts() == HandBuilt.concepts)
        #expect(try store.concept(id: "IMI") == HandBuilt.concepts[2])
        #expect(try store.concept(id: "NOPE") == nil)
        #expect(try store.ontologyVersion() == "test-1")
    }

    @Test func reloadingTheOntologyReplacesConcepts() throws {
        let store = try HandBuilt.store()
        try store.loadConcepts(HandBuilt.concepts, version: "test-1")
        #expect(try store.concepts().count == 4)
        try store.loadConcepts(Array(HandBuilt.concepts.prefix(2)), version: "test-2")
        #expect(try store.concepts().map(\.id) == ["CD", "CLBBB"])
        #expect(try store.ontologyVersion() == "test-2")
        #expect(try store.resolve("sinusrhythmus").concept == nil)
    }

    @Test func duplicateConceptIDsLeaveTheBaseUnchanged() throws {
        let store = try HandBuilt.store()
        let duplicate = HandBuilt.concepts + [Concept(id: "SR", label: "Other", category: .rhythm)]
        #expect { try store.loadConcepts(duplicate, version: "bad") } throws: { "\($0)".contains("duplicate concept id 'SR'") }
        #expect(try store.concepts() == HandBuilt.concepts)
        #expect(try store.ontologyVersion() == "test-1")
    }

    @Test func resolvesByIDCodeLabelSynonymAndAbbreviation() throws {
        let store = try HandBuilt.store()
        for (text, kind) in [
            ("clbbb", "id"), ("164909002", "code"), ("SNOMED:164909002", "code"), ("complete LEFT bundle branch block", "label"),
            ("Linksschenkelblock", "synonym"), ("lbbb", "abbreviation"),
        ] {
            let resolution = try store.resolve(text)
            guard case .found(let concept, let matchedBy, _) = resolution else {
                Issue.record("\(text) did not resolve: \(resolution)")
                continue
            }
            #expect(concept.id == "CLBBB")
            #expect(matchedBy == kind)
        }
        // Diacritics and case are folded.
        #expect(try store.resolve("SÍNUSRHYTHMUS").concept?.id == "SR")
        // `CD` is the id of CD and a code of CLBBB: the id wins.
        #expect(try store.resolve("cd").concept?.id == "CD")
    }

    @Test func nearMissesGetSuggestions() throws {
        let store = try HandBuilt.store()
        guard case .notFound(let suggestions) = try store.resolve("linkschenkelblock") else {
            Issue.record("expected no match")
            return
        }
        #expect(suggestions.first?.conceptID == "CLBBB")
        #expect(suggestions.first?.text == "linksschenkelblock")
        guard case .notFound(let none) = try store.resolve("xyzzy quux") else { return }
        #expect(none.isEmpty)
    }

    @Test func fileBaseUsesWALAndMigratesOtherSchemasAfterKnowledge() throws {
        let directory = try SharedData.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("kb.sqlite").path
        let store = try KnowledgeStore(path: path)
        try store.loadConcepts(HandBuilt.concepts, version: "v")
        let mode = try store.writer.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") }
        #expect(mode == "wal")
        let applied = try store.writer.read { try KnowledgeStore.migrator.appliedMigrations($0) }
        #expect(applied.first == "knowledge-v1")
        // Reopening keeps the data.
        let reopened = try KnowledgeStore(path: path)
        #expect(try reopened.concepts().count == 4)
    }

    @Test func notADatabaseIsAClearError() throws {
        let url = try temporaryFile("garbage.sqlite", String(repeating: "not sqlite ", count: 1000))
        #expect { try KnowledgeStore(path: url.path) } throws: { error in
            let message = "\(error)"
            return message.contains(url.path) && message.contains("not a SQLite database")
        }
    }
}
