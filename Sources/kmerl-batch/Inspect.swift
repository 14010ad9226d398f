import ArgumentParser
import ECGCore
import ECGFormats
import Foundation

/// `kmerl-batch inspect PATH... [--json]`: what kmerl reads from ECG files.
struct Inspect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what kmerl reads from ECG records (WFDB, .mat, HL7 aECG, CSV): leads, rate, length, ranges.",
        discussion: """
            A PATH may be a record file or a folder (searched recursively). Files that are not records are \
            listed on standard error as skipped; a record that cannot be read is reported there too and the \
            others are still shown. With --json, standard output is one JSON array with one object per record.
            """
    )

    @Argument(help: "Record files or folders.")
    var paths: [String]

    @Flag(help: "Print one JSON array of record objects.")
    var json = false

    @Option(help: "Sampling rate in Hz for CSV files without a time column.")
    var fs: Double?

    func validate() throws {
        if let fs, !(fs > 0 && fs.isFinite) { throw ValidationError("--fs must be a positive number of Hz") }
        if paths.isEmpty { throw ValidationError("give at least one file or folder") }
    }

    func run() async throws {
        let discovery = RecordDiscovery.discover(paths.map { URL(fileURLWithPath: $0) })
        for skipped in discovery.skipped { printError("skipped \(skipped.file): \(skipped.message)") }
        let options = ReadOptions(csvSamplingRate: fs)
        let outcomes = await Self.read(discovery.records, options: options)
        var summaries: [RecordSummary] = []
        var failures = 0
        for (record, outcome) in zip(discovery.records, outcomes) {
            switch outcome {
            case .success(let summary): summaries.append(summary)
            case .failure(let error):
                failures += 1
                printError("error: \(record.primary.path): \(error.problem)")
            }
        }
        if json {
            FileHandle.standardOutput.write(Data(RecordSummary.jsonArray(summaries).utf8))
        } else {
            var text = ""
            for s in summaries { text += Self.describe(s) }
            text += "\(summaries.count) record(s) read, \(failures) failed, \(discovery.skipped.count) file(s) skipped\n"
            FileHandle.standardOutput.write(Data(text.utf8))
        }
        if summaries.isEmpty { throw ExitCode(1) }
    }

    /// Reads the records with at most one task per core, keeping their order.
    static func read(_ records: [DiscoveredRecord], options: ReadOptions) async -> [Result<RecordSummary, ECGFileError>] {
        var outcomes = [Result<RecordSummary, ECGFileError>?](repeating: nil, count: records.count)
        let width = max(1, ProcessInfo.processInfo.activeProcessorCount)
        await withTaskGroup(of: (Int, Result<RecordSummary, ECGFileError>).self) { group in
            var next = 0
            func submit() {
                let index = next
                let url = records[index].primary
                next += 1
                group.addTask {
                    do {
                        return (index, .success(RecordSummary(record: try ECGReader.read(url, options: options))))
                    } catch let error as ECGFileError {
                        return (index, .failure(error))
                    } catch {
                        return (index, .failure(ECGFileError(file: url.path, problem: String(describing: error))))
                    }
                }
            }
            while next < records.count && next < width { submit() }
            for await (index, outcome) in group {
                outcomes[index] = outcome
                if next < records.count { submit() }
            }
        }
        return outcomes.compactMap { $0 }
    }

    static func describe(_ s: RecordSummary) -> String {
        func num(_ v: Double?) -> String { v.map { String(format: "%.4g", $0) } ?? "-" }
        var text = "\(s.id)  [\(s.format)]  \(num(s.fs)) Hz  \(s.samples) samples  \(String(format: "%.2f", s.seconds)) s  \(s.leads.count) lead(s)\n"
        for w in s.warnings { text += "  warning: \(w)\n" }
        for l in s.leads {
            let written = l.writtenName == l.name ? "" : " (\(l.writtenName))"
            var line = "  \(l.name)\(written): \(l.samples) samples, \(num(l.min)) … \(num(l.max)) \(l.units)"
            if let gain = l.gain, let baseline = l.baseline { line += ", gain \(num(gain)), baseline \(baseline)" }
            text += line + "\n"
        }
        return text
    }

    private func printError(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
