import ArgumentParser
import Classification
import Foundation

/// The options `classify` and `nightly` share: which model, which templates, how many jobs.
struct ClassifierOptions: ParsableArguments {
    @Option(help: "Model file (.safetensors) (default: the embedded default model).")
    var model: String?

    @Option(help: "Folder of .mustache templates overriding the embedded ones (index, record, style).")
    var templates: String?

    @Option(help: "Records processed in parallel (default: the number of cores).")
    var jobs: Int?

    /// Default classify options with `--jobs` and `--templates` applied, both checked.
    func classifyOptions() throws -> ClassifyOptions {
        var options = ClassifyOptions()
        if let jobs {
            guard jobs >= 1 else { throw UsageError(message: "--jobs must be 1 or more") }
            options.jobs = jobs
        }
        if let templates {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: templates, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw UsageError(message: "--templates \(templates): no such folder")
            }
            options.templates = URL(fileURLWithPath: templates)
        }
        return options
    }

    /// The bytes of `--model`, or `nil` for the embedded default.
    func modelData() throws -> Data? {
        try model.map { path in
            do { return try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe) } catch {
                throw UsageError(message: "--model \(path): cannot read the file (\(error.localizedDescription))")
            }
        }
    }
}

/// A bad argument value found after parsing; the command prints it and exits 1.
struct UsageError: Error, LocalizedError {
    var message: String
    var errorDescription: String? { message }
}
