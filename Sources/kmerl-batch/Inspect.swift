import ArgumentParser

/// `kmerl-batch inspect` (being built).
struct Inspect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Not built yet.")
    func run() async throws { throw ValidationError("kmerl-batch inspect is not built yet") }
}
