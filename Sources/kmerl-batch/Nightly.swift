import ArgumentParser

/// `kmerl-batch nightly` (being built).
struct Nightly: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Not built yet.")
    func run() async throws { throw ValidationError("kmerl-batch nightly is not built yet") }
}
