import Foundation
import Knowledge

// bench-knowledge: helpers for Benchmarks/knowledge.sh.
//
//   bench-knowledge generate-mimic OUT ROWS PTBXL_CSV MIMIC_SAMPLE_CSV
//       Writes ROWS rows in the exact MIMIC-IV-ECG machine_measurements.csv layout (the sample's
//       header). Report lines are real: the sample row's own lines, and the English statements of
//       real PTB-XL reports split into lines (one statement per report_k, at most 18), in their
//       original order. Ids, cart, time and the interval/axis columns vary around the real row.
//   bench-knowledge import-without-extraction DB FILE
//       Imports FILE with an extractor that finds nothing: parsing + hashing + SQLite only.
//   bench-knowledge query DB TEXT REPEATS
//       Opens DB once, then times resolve + summary REPEATS times; prints min/median/max in ms.

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("bench-knowledge: \(message)\n".utf8))
    exit(1)
}

func csvField(_ field: String) -> String {
    guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
    return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}

/// English statements of the real PTB-XL reports (German, Swedish and edited ones left out).
func englishReportLines(_ ptbxl: URL) throws -> [[String]] {
    let reader = try CSVReader(url: ptbxl)
    guard let column = reader.column(named: "report") else { fail("\(ptbxl.path): no report column") }
    let english = ["sinus rhythm", "normal ecg", "axis deviation", "bundle branch block", "atrial fibrillation", "hypertrophy", "infarction", "ischaemi", "prolonged", "contraction"]
    let german = ["sinusrhythmus", "ä", "ö", "ü", "edit:", "linkstyp", "infarkt", "sinusrytm"]
    var reports: [[String]] = []
    while try reader.nextRecord() {
        let text = try reader.string(at: column, column: "report").lowercased()
        guard english.contains(where: { text.contains($0) }), !german.contains(where: { text.contains($0) }) else { continue }
        let lines = text.split(separator: ".").map { $0.split(whereSeparator: \.isWhitespace).joined(separator: " ") }
            .filter { $0.count > 2 }
            .map { $0.prefix(1).uppercased() + $0.dropFirst() }
        if !lines.isEmpty { reports.append(Array(lines.prefix(18))) }
    }
    return reports
}

func generate(out: String, rows: Int, ptbxl: String, sample: String) throws {
    let reader = try CSVReader(url: URL(fileURLWithPath: sample))
    let header = reader.header
    guard try reader.nextRecord() else { fail("\(sample): no data row") }
    var real = try (0..<reader.fieldCount).map { try reader.string(at: $0, column: header[$0]) }
    func index(_ name: String) -> Int {
        guard let i = header.firstIndex(of: name) else { fail("\(sample): no column \(name)") }
        return i
    }
    let reportColumns = (0..<18).map { index("report_\($0)") }
    let sampleLines = reportColumns.map { real[$0] }.filter { !$0.isEmpty }
    var pool = try englishReportLines(URL(fileURLWithPath: ptbxl))
    pool.append(sampleLines)
    FileHandle.standardError.write(Data("generating \(rows) rows from \(pool.count) real reports\n".utf8))
    let numeric = ["rr_interval", "p_onset", "p_end", "qrs_onset", "qrs_end", "t_end", "p_axis", "qrs_axis", "t_axis"].map(index)
    let baseNumbers = numeric.map { Int(real[$0]) ?? 0 }
    let (subject, study, cart, time) = (index("subject_id"), index("study_id"), index("cart_id"), index("ecg_time"))

    let url = URL(fileURLWithPath: out)
    FileManager.default.createFile(atPath: url.path, contents: nil)
    let handle = try FileHandle(forWritingTo: url)
    var chunk = header.map(csvField).joined(separator: ",") + "\n"
    var state: UInt64 = 0x2545_F491_4F6C_DD1D
    func random(_ n: Int) -> Int {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return Int(state % UInt64(n))
    }
    for row in 0..<rows {
        real[subject] = String(10_000_032 + row / 3)
        real[study] = String(40_000_000 + row)
        real[cart] = String(6_800_000 + random(90_000))
        real[time] = String(format: "21%02d-%02d-%02d %02d:%02d:00", 80 + random(20), 1 + random(12), 1 + random(28), random(24), random(60))
        let lines = pool[random(pool.count)]
        for (k, column) in reportColumns.enumerated() { real[column] = k < lines.count ? lines[k] : "" }
        for (k, column) in numeric.enumerated() { real[column] = String(baseNumbers[k] + random(21) - 10) }
        chunk += real.map(csvField).joined(separator: ",")
        chunk += "\n"
        if chunk.utf8.count > 1 << 20 {
            try handle.write(contentsOf: Data(chunk.utf8))
            chunk = ""
        }
    }
    try handle.write(contentsOf: Data(chunk.utf8))
    try handle.close()
}

func query(db: String, text: String, repeats: Int) throws {
    let store = try KnowledgeStore(path: db)
    var times: [Double] = []
    var summary: ConceptSummary?
    for _ in 0..<max(1, repeats) {
        let start = DispatchTime.now().uptimeNanoseconds
        guard let concept = try store.resolve(text).concept else { fail("\(text) does not resolve in \(db)") }
        summary = try store.summary(of: concept)
        times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
    }
    times.sort()
    let present = summary?.reportsByAssertion.first?.count ?? 0
    print(String(format: "query %@ (in process, %d runs): min %.2f ms, median %.2f ms, max %.2f ms; %d reports present",
                 text, times.count, times[0], times[times.count / 2], times[times.count - 1], present))
}

/// Parsing, hashing and SQLite writes without extraction: the store's own share of import time.
func importWithoutExtraction(db: String, file: String) throws {
    let store = try KnowledgeStore(path: db)
    let summary = try ReportImporter(store: store) { _ in [] }.importFile(URL(fileURLWithPath: file))
    print(String(format: "store only (no extraction): %d rows in %.2f s = %.0f rows/s", summary.rowsRead, summary.seconds, summary.reportsPerSecond))
}

let arguments = CommandLine.arguments
do {
    switch arguments.dropFirst().first {
    case "generate-mimic" where arguments.count == 6:
        guard let rows = Int(arguments[3]) else { fail("ROWS must be a number") }
        try generate(out: arguments[2], rows: rows, ptbxl: arguments[4], sample: arguments[5])
    case "import-without-extraction" where arguments.count == 4:
        try importWithoutExtraction(db: arguments[2], file: arguments[3])
    case "query" where arguments.count == 5:
        try query(db: arguments[2], text: arguments[3], repeats: Int(arguments[4]) ?? 20)
    default:
        fail("usage: bench-knowledge generate-mimic OUT ROWS PTBXL_CSV MIMIC_SAMPLE_CSV | query DB TEXT REPEATS")
    }
} catch {
    fail("\(error)")
}
