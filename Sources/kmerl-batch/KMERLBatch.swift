import ArgumentParser

/// `kmerl-batch`: read, measure and classify folders of ECGs with any subset of leads.
@main
struct KMERLBatch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kmerl-batch",
        abstract: "Read, measure and classify folders of ECGs (WFDB, .mat, HL7 aECG, CSV) with any subset of leads.",
        subcommands: [Inspect.self, Measure.self, Classify.self, Nightly.self]
    )
}
