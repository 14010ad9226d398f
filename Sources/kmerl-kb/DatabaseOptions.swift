import ArgumentParser
import Foundation
import KMERLResources
import Knowledge

/// `--db PATH`, defaulting to `KMERL_DB` or `kmerl.sqlite` in the working directory.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .long, help: "The knowledge base (default: $KMERL_DB, else ./kmerl.sqlite).")
    var db: String?

    /// The database path to use.
    var path: String { KnowledgeStore.defaultPath(db, environment: ProcessInfo.processInfo.environment) }

    /// Opens the base; a base without an ontology gets the embedded one first.
    func open() throws -> KnowledgeStore {
        let store = try KnowledgeStore(path: path)
        if try store.ontologyVersion() == nil {
            try store.loadOntology(try EmbeddedOntology.load())
        }
        return store
    }
}

/// The ontology built into the binary.
enum EmbeddedOntology {
    static let xmlPath = Ontology.embeddedPath
    static let schemaPath = Ontology.embeddedSchemaPath

    static func schema() throws -> Data {
        guard let data = EmbeddedResources.data(schemaPath) else {
            throw ValidationError("this binary has no embedded \(schemaPath); rebuild it from a checkout with Ontology/")
        }
        return data
    }

    static func load() throws -> Ontology {
        guard let xml = EmbeddedResources.data(xmlPath) else {
            throw ValidationError("this binary has no embedded \(xmlPath); rebuild it from a checkout with Ontology/")
        }
        return try Ontology.load(xml: xml, schema: try schema(), name: xmlPath)
    }
}

/// Writes `text` to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// JSON with sorted keys, pretty-printed.
func jsonString<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}

/// A user-facing failure that is not a usage error (no usage text is printed for it).
struct CommandFailure: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) { self.description = description }
}
