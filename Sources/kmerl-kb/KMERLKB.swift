import ArgumentParser

/// `kmerl-kb`: the cardiology knowledge base (ontology + entities extracted from reports).
@main
struct KMERLKB: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kmerl-kb",
        abstract: "Build and query the kmerl knowledge base: ontology concepts and entities extracted from ECG reports.",
        subcommands: [ImportCommand.self, QueryCommand.self, StatsCommand.self, ExportCommand.self, OntologyCommand.self]
    )
}
