import ArgumentParser

/// `kmerl-batch measure` (being built).
struct Measure: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Not built yet.")
    func run() async throws { throw ValidationError("kmerl-batch measure is not built yet") }
}
