import ArgumentParser

/// `kmerl-batch classify` (being built).
struct Classify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Not built yet.")
    func run() async throws { throw ValidationError("kmerl-batch classify is not built yet") }
}
