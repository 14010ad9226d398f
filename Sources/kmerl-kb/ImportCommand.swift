import ArgumentParser
import Foundation
import Knowledge

extension ReportFormat: ExpressibleByArgument {}

/// `kmerl-kb import FILE`.
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import a report file (PTB-XL, MIMIC-IV-ECG machine_measurements.csv, or any CSV) and extract its findings.",
        discussion: """
            Importing the same rows again adds nothing. A malformed file (invalid UTF-8, a row of the wrong width, \
            a file ending inside quotes, missing columns) is rejected with its line, and the base is left unchanged.
            """
    )

    @Argument(help: "The CSV file of reports.")
    var file: String

    @OptionGroup var database: DatabaseOptions

    @Option(help: "auto (detect from the header), ptbxl, mimic or generic.")
    var format: ReportFormat = .auto

    @Option(name: .customLong("id-column"), help: "Generic CSV: the column with the report id.")
    var idColumn: String?

    @Option(name: .customLong("text-column"), help: "Generic CSV: the column with the report text.")
    var textColumn: String?

    @Flag(help: "Print the summary as JSON.")
    var json = false

    func validate() throws {
        if format == .generic && (idColumn == nil || textColumn == nil) {
            throw ValidationError("--format generic needs --id-column and --text-column")
        }
    }

    func run() async throws {
        let url = URL(fileURLWithPath: file)
        guard FileManager.default.fileExists(atPath: url.path) else { throw CommandFailure("\(file): no such file") }
        let store = try database.open()
        let extractor = Extractor(concepts: try store.concepts())
        var importer = ReportImporter(store: store, idColumn: idColumn, textColumn: textColumn) { extractor.extract($0) }
        importer.parallel = true
        let bar = ProgressBar.onTerminal()
        let summary = try importer.importFile(url, format: format) { bar?.update($0) }
        bar?.finish()
        if json {
            print(try jsonString(summary))
            return
        }
        print("imported \(file) (\(summary.format.rawValue)) into \(store.path)")
        print("  rows read:        \(summary.rowsRead)")
        print("  reports added:    \(summary.reportsAdded)")
        if summary.reportsAlreadyPresent > 0 {
            print("  already present:  \(summary.reportsAlreadyPresent) (not added again)")
        }
        print("  mentions:         \(summary.mentionsAdded)")
        print("  rows skipped:     \(summary.rowsSkipped)")
        for (reason, count) in summary.skippedByReason.sorted(by: { $0.value > $1.value }) {
            print("    \(count) × \(reason)")
        }
        for example in summary.skippedExamples.prefix(5) { print("    \(example)") }
        print(String(format: "  time:             %.2f s (%.0f rows/s)", summary.seconds, summary.reportsPerSecond))
    }
}

/// A one-line progress bar on standard error, drawn only when standard error is a terminal.
final class ProgressBar: @unchecked Sendable {
    private var lastDraw = Date.distantPast
    private let started = Date()

    /// A bar when standard error is a terminal, `nil` otherwise (pipes, files, CI logs).
    static func onTerminal() -> ProgressBar? {
        isatty(STDERR_FILENO) == 1 ? ProgressBar() : nil
    }

    func update(_ progress: ImportProgress) {
        let now = Date()
        guard now.timeIntervalSince(lastDraw) >= 0.1 else { return }
        lastDraw = now
        let fraction = progress.totalBytes > 0 ? min(1, Double(progress.bytesRead) / Double(progress.totalBytes)) : 0
        let width = 30
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        let rate = Double(progress.rowsRead) / max(0.001, now.timeIntervalSince(started))
        let line = String(format: "\r%@ %3.0f%%  %d rows  %.0f rows/s", bar, fraction * 100, progress.rowsRead, rate)
        FileHandle.standardError.write(Data(line.utf8))
    }

    func finish() {
        FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8))
    }
}
