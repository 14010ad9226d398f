import ECGCore
import Foundation
import KMERLResources
import KMERLTestSupport
import Testing

@testable import Knowledge

/// The shipped ontology's criteria, per-lead ones included, survive the knowledge base.
@Suite struct KnowledgeStoreCriteriaTests {
    @Test func perLeadCriteriaRoundTripThroughTheStore() throws {
        let xml = try #require(EmbeddedResources.data(Ontology.embeddedPath))
        let xsd = try #require(EmbeddedResources.data(Ontology.embeddedSchemaPath))
        let ontology = try Ontology.load(xml: xml, schema: xsd, name: Ontology.embeddedPath)
        let store = try KnowledgeStore.inMemory()
        try store.loadOntology(ontology)
        let stored = try #require(try store.concept(id: "CRBBB"))
        #expect(stored.criteria == ontology.concept(id: "CRBBB")?.criteria)
        #expect(stored.criteria.contains { $0.measurement == "rAmplitude" && $0.leads == [.v1] && $0.minimum == 0.3 })
        let withCriteria = try store.concepts().filter { !$0.criteria.isEmpty }
        #expect(withCriteria.count == ontology.concepts.filter { !$0.criteria.isEmpty }.count)
        for concept in withCriteria { #expect(concept.criteria == ontology.concept(id: concept.id)?.criteria) }
    }
}

/// Which knowledge base the commands open when none is named.
@Suite struct KnowledgeStoreDefaultPathTests {
    @Test func explicitThenEnvironmentThenWorkingDirectory() {
        #expect(KnowledgeStore.defaultPath("/a/kb.sqlite", environment: ["KMERL_DB": "/b/kb.sqlite"]) == "/a/kb.sqlite")
        #expect(KnowledgeStore.defaultPath(nil, environment: ["KMERL_DB": "/b/kb.sqlite"]) == "/b/kb.sqlite")
        #expect(KnowledgeStore.defaultPath(nil, environment: ["KMERL_DB": ""]) == "kmerl.sqlite")
        #expect(KnowledgeStore.defaultPath(nil, environment: [:]) == "kmerl.sqlite")
    }
}
