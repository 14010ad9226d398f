import ArgumentParser
import Classification
import ECGCore
import ECGFormats
import Foundation
import Knowledge

/// `kmerl-batch classify`: score a folder of ECGs with any subset of leads against the knowledge
/// base and write HTML, CSV and JSON summaries with per-lead confidence.
struct Classify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score folders of ECGs (any subset of leads) against the knowledge base; write HTML, CSV and JSON reports.",
        discussion: """
            Writes into --out: index.html, records/ID.html, findings.csv, summary.csv and run.json (the \
            set replaces a previous one atomically). Without --db the embedded ontology is used (results \
            are then not kept); without --model the embedded default model.
            Exit codes: 0 every record processed; 3 some records failed (listed in index.html and \
            run.json); 1 nothing could be done (bad arguments, unreadable model or base, no record found).
            """
    )

    @Argument(help: "Record files or folders (searched recursively).")
    var paths: [String]

    @Option(help: "Output folder for the report set.")
    var out: String = "out"

    @Option(help: "Knowledge base (SQLite) to score against and to store the run in (default: the embedded ontology, in memory).")
    var db: String?

    @Option(help: "Keep only these leads, e.g. I,II,V2 (to match or simulate a device).")
    var leads: String?

    @Option(help: "Score only these concept ids, e.g. CLBBB,AFIB (default: every concept the model can score).")
    var concepts: String?

    @OptionGroup var classifier: ClassifierOptions

    @Option(help: "Qualifier bands 'consider,possible,probable,definite'.")
    var bands: String = "0.35,0.5,0.65,0.8"

    @Flag(help: "No progress bar and no summary line.")
    var quiet = false

    func run() async throws {
        let code: Int32
        do {
            code = try await classify()
        } catch {
            let text = (error as? LocalizedError)?.errorDescription ?? String(describing: error)
            FileHandle.standardError.write(Data("kmerl-batch classify: error: \(text)\n".utf8))
            throw ExitCode(1)
        }
        if code != 0 { throw ExitCode(code) }
    }

    func classify() async throws -> Int32 {
        var options = try classifier.classifyOptions()
        if let leads {
            var set = Set<StandardLead>()
            for name in leads.split(separator: ",").map({ String($0).trimmingWhitespace() }) where !name.isEmpty {
                guard let lead = Lead.standard(forAlias: name) else {
                    throw UsageError(message: "--leads: '\(name)' is not a standard lead (I, II, III, aVR, aVL, aVF, V1–V6)")
                }
                set.insert(lead)
            }
            guard !set.isEmpty else { throw UsageError(message: "--leads: name at least one lead") }
            options.leads = set
        }
        if let concepts {
            let ids = concepts.split(separator: ",").map { String($0).trimmingWhitespace() }.filter { !$0.isEmpty }
            guard !ids.isEmpty else { throw UsageError(message: "--concepts: name at least one concept id") }
            options.concepts = ids
        }
        options.bands = try QualifierBands(parsing: bands)
        for path in paths where !FileManager.default.fileExists(atPath: path) {
            throw UsageError(message: "\(path): no such file or folder")
        }

        let store = try db.map { try KnowledgeStore(path: $0) }
        let modelData = try classifier.modelData()
        let batch: BatchClassifier
        do {
            batch = try BatchClassifier(store: store, modelData: modelData, options: options)
        } catch let error as BatchClassifier.ModelUnavailable {
            throw UsageError(message: classifier.model.map { "--model \($0): \(error.description)" } ?? error.description)
        }

        let discovery = RecordDiscovery.discover(paths.map { URL(fileURLWithPath: $0) })
        let inputs: [BatchInput] = discovery.records.map { BatchInput($0) }
        if inputs.isEmpty && discovery.skipped.isEmpty {
            throw UsageError(message: "no ECG record found in \(paths.joined(separator: ", "))")
        }
        let bar: ProgressBar? = (!quiet && isatty(STDERR_FILENO) == 1) ? ProgressBar(total: inputs.count) : nil
        var progress: (@Sendable (Int, Int) -> Void)? = nil
        if let bar { progress = { done, total in bar.update(done, total) } }
        let summary = try await batch.classify(
            inputs, skipped: discovery.skipped, into: URL(fileURLWithPath: out), inputPaths: paths, progress: progress)
        bar?.finish()
        if !quiet {
            let rate = summary.durations.total > 0 ? Double(summary.processed + summary.failed) / summary.durations.total : 0
            print(
                "\(summary.processed) processed, \(summary.failed) failed, \(summary.abnormal) abnormal in "
                    + String(format: "%.1f s (%.0f records/s)", summary.durations.total, rate) + " → \(summary.outputDirectory.path)/index.html")
            for outcome in summary.outcomes where !outcome.isOK {
                FileHandle.standardError.write(Data("  failed: \(outcome.source): \(outcome.failure ?? "")\n".utf8))
            }
        }
        return summary.exitCode
    }
}

/// A one-line progress bar on standard error (only used when it is a terminal).
final class ProgressBar: @unchecked Sendable {
    private let lock = NSLock()
    private let total: Int
    private var last = -1

    init(total: Int) { self.total = total }

    func update(_ done: Int, _ total: Int) {
        lock.lock()
        defer { lock.unlock() }
        let width = 40
        let filled = total > 0 ? done * width / total : width
        guard filled != last || done == total else { return }
        last = filled
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        FileHandle.standardError.write(Data("\r\(bar) \(done)/\(total)".utf8))
    }

    func finish() {
        FileHandle.standardError.write(Data("\n".utf8))
    }
}
