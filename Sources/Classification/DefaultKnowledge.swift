import ECGCore
import ECGFormats
import Foundation
import KMERLResources
import Knowledge

extension BatchInput {
    /// The batch input of a discovered record.
    public init(_ record: DiscoveredRecord) {
        self.init(id: record.id, primary: record.primary, files: record.files)
    }
}

extension BatchClassifier {
    /// Classifies discovered records (see `classify(_:skipped:into:inputPaths:progress:)`).
    public func classify(
        _ records: [DiscoveredRecord], skipped: [Diagnostic], into outputDirectory: URL,
        progress: (@Sendable (Int, Int) -> Void)? = nil
    ) async throws -> BatchSummary {
        try await classify(records.map(BatchInput.init), skipped: skipped, into: outputDirectory, progress: progress)
    }
}

/// The concepts a batch scores: those of a knowledge base, or of the embedded ontology.
public enum DefaultKnowledge {
    /// The error thrown when the embedded ontology is missing from the build.
    public struct Missing: Error, CustomStringConvertible, LocalizedError {
        public var description: String
        public var errorDescription: String? { description }
    }

    /// The ontology embedded in the binary (`Ontology/kmerl-ontology.xml`, validated against its XSD).
    public static func embeddedOntology() throws -> Ontology {
        guard let xml = EmbeddedResources.data(Ontology.embeddedPath),
            let schema = EmbeddedResources.data(Ontology.embeddedSchemaPath)
        else {
            throw Missing(description: "the embedded ontology (\(Ontology.embeddedPath)) is missing from this build")
        }
        return try Ontology.load(xml: xml, schema: schema, name: Ontology.embeddedPath)
    }

    /// The concepts and version of `store`; a store without concepts first gets the embedded
    /// ontology. Without a store, the embedded ontology's concepts.
    public static func concepts(in store: KnowledgeStore?) throws -> (concepts: [Concept], version: String) {
        guard let store else {
            let ontology = try embeddedOntology()
            return (ontology.concepts, ontology.version)
        }
        var concepts = try store.concepts()
        if concepts.isEmpty {
            let ontology = try embeddedOntology()
            try store.loadConcepts(ontology.concepts, version: ontology.version)
            concepts = try store.concepts()
        }
        let version = try store.ontologyVersion() ?? "unknown"
        return (concepts, "\(version) (\(store.path))")
    }
}
