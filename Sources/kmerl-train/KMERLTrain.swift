import ArgumentParser

/// `kmerl-train`: train and evaluate the lead-aware encoder on paired ECGs and reports.
@main
struct KMERLTrain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kmerl-train",
        abstract: "Train and evaluate the K-MERL lead-aware encoder on paired ECG records and reports.",
        subcommands: []
    )
}
