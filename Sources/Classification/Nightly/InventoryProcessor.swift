import ECGCore
import Foundation

/// The stand-in processing step until classification is wired into the nightly runs: checks
/// that each record's files are complete and consistent (a WFDB signal file holds at least
/// the samples its header announces; other files are non-empty) and writes an inventory
/// (`index.html`, `records/ID.html`, `summary.csv`, `run.json`) in the shape of classify's outputs.
public struct InventoryProcessor: NightlyProcessor {
    /// A pause per record (tests use it to kill a run in the middle).
    public var delayPerRecord: TimeInterval

    /// A processor; `delayPerRecord` is 0 outside tests.
    public init(delayPerRecord: TimeInterval = 0) {
        self.delayPerRecord = delayPerRecord
    }

    /// Checks each record and writes the inventory into `directory`.
    public func process(_ batch: NightlyBatch, into directory: URL) async throws -> [NightlyRecordOutcome] {
        let recordsFolder = directory.appendingPathComponent("records", isDirectory: true)
        try FileManager.default.createDirectory(at: recordsFolder, withIntermediateDirectories: true)
        var outcomes: [NightlyRecordOutcome] = []
        var csv = "record_id,source,files,content_sha256,status,reason\n"
        var rows = ""
        var usedIDs = Set<String>()
        for record in batch.records {
            if delayPerRecord > 0 { try await Task.sleep(nanoseconds: UInt64(delayPerRecord * 1e9)) }
            let problem = InventoryProcessor.check(record)
            outcomes.append(NightlyRecordOutcome(
                key: record.key, ok: problem == nil, statement: problem == nil ? "not classified" : nil, reason: problem))
            var id = record.name
            var suffix = 1
            while usedIDs.contains(id) {
                suffix += 1
                id = "\(record.name)-\(suffix)"
            }
            usedIDs.insert(id)
            let status = problem == nil ? "ok" : "failed"
            csv += [id, record.key, record.files.joined(separator: ";"), record.contentHash, status, problem ?? ""]
                .map(InventoryProcessor.csvField).joined(separator: ",") + "\n"
            let page = """
                <!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>\(NightlyHistory.escape(id))</title></head><body>
                <h1>\(NightlyHistory.escape(id))</h1><p>source: \(NightlyHistory.escape(record.key))</p>
                <p>status: \(status)\(problem.map { " — " + NightlyHistory.escape($0) } ?? "")</p>
                <ul>\(record.files.map { "<li>\(NightlyHistory.escape($0))</li>" }.joined())</ul>
                <p>content SHA-256: \(record.contentHash)</p></body></html>

                """
            try NightlyReports.writeAtomically(Data(page.utf8), to: recordsFolder.appendingPathComponent("\(id).html"))
            rows += "<tr><td><a href=\"records/\(NightlyHistory.escape(id)).html\">\(NightlyHistory.escape(id))</a></td>"
                + "<td>\(NightlyHistory.escape(record.key))</td><td>\(status)</td><td>\(NightlyHistory.escape(problem ?? ""))</td></tr>\n"
        }
        for failure in batch.carried {
            let reason = "failed in an earlier run (\(failure.attempts) attempt(s)), not retried: \(failure.reason)"
            csv += [failure.record.name, failure.record.key, failure.record.files.joined(separator: ";"), failure.record.contentHash, "failed-earlier", reason]
                .map(InventoryProcessor.csvField).joined(separator: ",") + "\n"
            rows += "<tr><td>\(NightlyHistory.escape(failure.record.name))</td><td>\(NightlyHistory.escape(failure.record.key))</td>"
                + "<td>failed earlier</td><td>\(NightlyHistory.escape(reason))</td></tr>\n"
        }
        let index = """
            <!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>kmerl nightly \(NightlyHistory.escape(batch.directoryName))</title></head><body>
            <h1>Night \(NightlyHistory.escape(batch.directoryName))</h1>
            <p>\(batch.records.count) record(s) checked; \(batch.carried.count) earlier failure(s); \(batch.waiting.count) waiting for the next run.</p>
            <table><thead><tr><th>record</th><th>source</th><th>status</th><th>reason</th></tr></thead><tbody>
            \(rows)</tbody></table></body></html>

            """
        try NightlyReports.writeAtomically(Data(csv.utf8), to: directory.appendingPathComponent("summary.csv"))
        let run: [String: Any] = [
            "night": batch.directoryName,
            "processing": "inventory (file completeness check; classification not wired in)",
            "counts": [
                "records": batch.records.count, "failed": outcomes.filter { !$0.ok }.count,
                "failed_earlier": batch.carried.count, "waiting": batch.waiting.count,
            ],
            "errors": outcomes.compactMap { outcome in outcome.reason.map { ["record": outcome.key, "reason": $0] } },
            "waiting": batch.waiting.map { ["file": $0.file, "reason": $0.message] },
        ]
        let json = try JSONSerialization.data(withJSONObject: run, options: [.prettyPrinted, .sortedKeys])
        try NightlyReports.writeAtomically(json, to: directory.appendingPathComponent("run.json"))
        try NightlyReports.writeAtomically(Data(index.utf8), to: directory.appendingPathComponent("index.html"))
        return outcomes
    }

    /// Why `record` is not usable, or nil.
    static func check(_ record: InboxRecord) -> String? {
        let manager = FileManager.default
        for file in record.files {
            let path = record.primary.deletingLastPathComponent().appendingPathComponent((file as NSString).lastPathComponent).path
            guard manager.isReadableFile(atPath: path) else { return "\(file): not readable" }
        }
        guard let size = (try? manager.attributesOfItem(atPath: record.primary.path))?[.size] as? Int, size > 0 else {
            return "\(record.key): empty file"
        }
        guard record.primary.pathExtension.lowercased() == "hea" else { return nil }
        guard let text = try? String(contentsOf: record.primary, encoding: .utf8), let header = WFDBHeaderFiles(text: text) else {
            return "\(record.key): not a readable WFDB header"
        }
        guard let samples = header.samplesPerSignal else { return nil }
        var bytesPerFile: [String: Double] = [:]
        for (file, format) in header.formats where file != "~" {
            let code = format.prefix { $0.isNumber }
            let width: Double? = switch code {
            case "8", "80": 1
            case "16", "61", "160": 2
            case "212": 1.5
            case "310", "311": 4.0 / 3.0
            case "24": 3
            case "32": 4
            default: nil
            }
            guard let width else { return nil }  // FLAC or unusual formats: size not predictable
            bytesPerFile[file, default: 0] += width
        }
        for (file, width) in bytesPerFile.sorted(by: { $0.key < $1.key }) {
            let url = record.primary.deletingLastPathComponent().appendingPathComponent(file)
            let needed = Int((Double(samples) * width).rounded(.down))
            let actual = (try? manager.attributesOfItem(atPath: url.path))?[.size] as? Int ?? 0
            if actual < needed { return "\(file): holds \(actual) bytes, the header needs \(needed) (truncated)" }
        }
        return nil
    }

    /// A CSV field, quoted when needed, neutralized against spreadsheet formulas.
    static func csvField(_ text: String) -> String {
        var value = text
        if let first = value.first, "=+-@\t\r".contains(first) { value = "'" + value }
        guard value.contains(where: { ",\"\n\r".contains($0) }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
