import ArgumentParser
import Foundation
import Knowledge

/// `kmerl-kb ontology load|validate [PATH]`.
struct OntologyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ontology", abstract: "Validate an ontology XML or load it into the base.",
        subcommands: [Load.self, Validate.self])

    struct Source: ParsableArguments {
        @Argument(help: "The ontology XML (default: the one built into this binary).")
        var path: String?

        @Option(help: "The XSD to validate against (default: the one built into this binary).")
        var schema: String?

        func load() throws -> Ontology {
            guard let path else { return try EmbeddedOntology.load() }
            let xml = URL(fileURLWithPath: path)
            guard FileManager.default.fileExists(atPath: xml.path) else { throw CommandFailure("\(path): no such file") }
            let schemaData: Data
            if let schema {
                schemaData = try Data(contentsOf: URL(fileURLWithPath: schema))
            } else {
                schemaData = try EmbeddedOntology.schema()
            }
            return try Ontology.load(xml: try Data(contentsOf: xml), schema: schemaData, name: path)
        }
    }

    struct Load: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "load", abstract: "Validate the ontology and replace the base's concepts with it (reports and mentions are kept).")

        @OptionGroup var source: Source
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let ontology = try source.load()
            let store = try KnowledgeStore(path: database.path)
            try store.loadOntology(ontology)
            print("loaded ontology \(ontology.version) (\(ontology.concepts.count) concepts) into \(store.path)")
        }
    }

    struct Validate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "validate", abstract: "Validate the ontology against its XSD and check its content; writes nothing.")

        @OptionGroup var source: Source

        func run() async throws {
            let ontology = try source.load()
            var seen = Set<String>()
            let duplicates = ontology.concepts.map(\.id).filter { !seen.insert($0).inserted }
            if !duplicates.isEmpty {
                throw ValidationError("\(source.path ?? EmbeddedOntology.xmlPath): duplicate concept ids: \(duplicates.joined(separator: ", "))")
            }
            let codes = ontology.concepts.reduce(0) { $0 + $1.codes.count }
            print("\(source.path ?? EmbeddedOntology.xmlPath): valid — ontology \(ontology.version), \(ontology.concepts.count) concepts, \(codes) codes")
        }
    }
}
