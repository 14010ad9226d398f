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
        case .json: print(try MeasurementOutput.json(measured))
        case .csv: print(MeasurementOutput.csv(measured), terminator: "")
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

/// JSON and CSV renderings of measurements, with the keys of `kmerl-batch measure`.
enum MeasurementOutput {
    struct LeadJSON: Encodable {
        var name: String
        var quality: Double
        var status: String
        var reasons: [String]?
        var pAmplitude, qAmplitude, rAmplitude, sAmplitude, tAmplitude, stJ60: Double?
    }

    struct RecordJSON: Encodable {
        var record: String
        var heartRate, rrMean, rrSD, prInterval, qrsDuration, qtInterval, qtcBazett, qtcFridericia: Double?
        var pAxis, qrsAxis, tAxis: Double?
        var leads: [LeadJSON]
    }

    static func round(_ v: Double?, _ digits: Int) -> Double? {
        guard let v, v.isFinite else { return nil }
        let scale = Foundation.pow(10.0, Double(digits))
        return (v * scale).rounded() / scale
    }

    static func record(_ m: RecordMeasurements) -> RecordJSON {
        RecordJSON(
            record: m.record, heartRate: round(m.heartRate, 1), rrMean: round(m.rrMean, 1), rrSD: round(m.rrSD, 1),
            prInterval: round(m.prInterval, 1), qrsDuration: round(m.qrsDuration, 1), qtInterval: round(m.qtInterval, 1),
            qtcBazett: round(m.qtcBazett, 1), qtcFridericia: round(m.qtcFridericia, 1), pAxis: round(m.pAxis, 0),
            qrsAxis: round(m.qrsAxis, 0), tAxis: round(m.tAxis, 0),
            leads: m.leads.map { l in
                LeadJSON(
                    name: l.lead.name, quality: round(l.quality, 2) ?? 0, status: l.status.rawValue, reasons: l.reasons.isEmpty ? nil : l.reasons,
                    pAmplitude: round(l.pAmplitude, 3), qAmplitude: round(l.qAmplitude, 3), rAmplitude: round(l.rAmplitude, 3),
                    sAmplitude: round(l.sAmplitude, 3), tAmplitude: round(l.tAmplitude, 3), stJ60: round(l.stJ60, 3))
            })
    }

    static func json(_ records: [RecordMeasurements]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(records.map(record)), as: UTF8.self)
    }

    static let recordColumns = ["heartRate", "rrMean", "rrSD", "prInterval", "qrsDuration", "qtInterval", "qtcBazett", "qtcFridericia", "pAxis", "qrsAxis", "tAxis"]
    static let leadColumns = ["pAmplitude", "qAmplitude", "rAmplitude", "sAmplitude", "tAmplitude", "stJ60"]

    static func csvField(_ text: String) -> String {
        text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
    }

    static func csv(_ records: [RecordMeasurements]) -> String {
        var out = (["record"] + recordColumns + ["lead", "quality", "status"] + leadColumns + ["reasons"]).joined(separator: ",") + "\n"
        func cell(_ v: Double?) -> String { v.map { String($0) } ?? "" }
        for m in records {
            let r = record(m)
            let recordCells = [r.heartRate, r.rrMean, r.rrSD, r.prInterval, r.qrsDuration, r.qtInterval, r.qtcBazett, r.qtcFridericia, r.pAxis, r.qrsAxis, r.tAxis].map(cell)
            for l in r.leads {
                let leadCells = [l.pAmplitude, l.qAmplitude, l.rAmplitude, l.sAmplitude, l.tAmplitude, l.stJ60].map(cell)
                let row = [csvField(r.record)] + recordCells + [csvField(l.name), String(l.quality), l.status] + leadCells + [csvField((l.reasons ?? []).joined(separator: "; "))]
                out += row.joined(separator: ",") + "\n"
            }
        }
        return out
    }
}
