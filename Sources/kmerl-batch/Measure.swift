import ArgumentParser
import ECGCore
import ECGFormats
import ECGSignal
import Foundation

/// `kmerl-batch measure PATH... [--json|--csv]`: heart rate, intervals, axes and per-lead amplitudes.
struct Measure: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure ECG records: heart rate, RR, PR, QRS, QT/QTc, axes and per-lead amplitudes with quality.",
        discussion: """
            PATH is a record file (.hea, .xml, .csv) or a folder searched recursively. A value that \
            cannot be measured is left out (JSON) or empty (CSV). Unreadable files are reported on \
            standard error and skipped.
            """
    )

    @Argument(help: "Record files or folders.")
    var paths: [String]

    @Flag(help: "Output format: JSON array (default) or CSV with one row per lead.")
    var format: OutputFormat = .json

    enum OutputFormat: String, EnumerableFlag {
        case json, csv
    }

    func run() async throws {
        let files = try RecordFiles.find(paths)
        if files.isEmpty { throw ValidationError("no ECG records (.hea, .xml, .csv) found in \(paths.joined(separator: ", "))") }
        let results = await MeasureRunner.measureAll(files)
        var failures = 0
        for case .failed(let diagnostic) in results {
            failures += 1
            FileHandle.standardError.write(Data("\(diagnostic)\n".utf8))
        }
        let measured = results.compactMap { outcome -> RecordMeasurements? in
            if case .measured(let m) = outcome { return m }
            return nil
        }
        switch format {
        case .json: print(try MeasurementExport.json(measured))
        case .csv: print(MeasurementExport.csv(measured), terminator: "")
        }
        if measured.isEmpty, failures > 0 { throw ExitCode(1) }
    }
}

/// Finds record files under the given paths.
enum RecordFiles {
    static let extensions: Set<String> = ["hea", "xml", "csv"]

    static func find(_ paths: [String]) throws -> [URL] {
        var files: [URL] = []
        let fm = FileManager.default
        for path in paths {
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDirectory) else {
                // A missing path is a warning, not the end of the batch.
                FileHandle.standardError.write(Data("warning: \(path): no such file or folder\n".utf8))
                continue
            }
            let url = URL(fileURLWithPath: path)
            if !isDirectory.boolValue {
                files.append(url)
                continue
            }
            let enumerator = fm.enumerator(at: url, includingPropertiesForKeys: [.isRegularFileKey])
            var found: [URL] = []
            while let item = enumerator?.nextObject() as? URL {
                if extensions.contains(item.pathExtension.lowercased()) { found.append(item) }
            }
            files += found.sorted { $0.path < $1.path }
        }
        return files
    }
}

/// A measured record, or why a file could not be read.
enum MeasureOutcome: Sendable {
    case measured(RecordMeasurements)
    case failed(Diagnostic)
}

/// Reads and measures files in parallel, bounded to the core count, keeping the input order.
enum MeasureRunner {
    static func measureAll(_ files: [URL]) async -> [MeasureOutcome] {
        let pipeline = MeasurementPipeline()
        let width = max(1, ProcessInfo.processInfo.activeProcessorCount)
        var results = [MeasureOutcome?](repeating: nil, count: files.count)
        await withTaskGroup(of: (Int, MeasureOutcome).self) { group in
            var next = 0
            func submit() {
                guard next < files.count else { return }
                let index = next
                let url = files[index]
                next += 1
                group.addTask {
                    do {
                        let record = try ECGReader.read(url)
                        return (index, .measured(pipeline.measure(record)))
                    } catch {
                        return (index, .failed(Diagnostic(severity: .warning, file: url.path, message: "\(error)")))
                    }
                }
            }
            for _ in 0..<width { submit() }
            for await (index, result) in group {
                results[index] = result
                submit()
            }
        }
        return results.compactMap { $0 }
    }
}

