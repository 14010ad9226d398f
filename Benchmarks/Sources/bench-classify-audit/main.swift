import Classification
import Foundation
import KMERLModel

// bench-classify-audit REPORT_DIR PTBXL_FOLDER
//
// Reads a `kmerl-batch classify` report set made from PTB-XL records (findings.csv, summary.csv)
// and prints what a cardiologist would check first:
//  1. consistency: records that state (qualifier other than "consider") both concepts of a pair
//     that `ConsistencyRules.defaultExclusions` says exclude each other — must be 0;
//  2. the overall statement against PTB-XL's diagnostic superclasses: records labelled only NORM,
//     records with an abnormal superclass (MI, STTC, CD, HYP), records with no diagnostic label;
//     in particular how many abnormal records were called "normal ECG";
//  3. the macro-AUROC of the five PTB-XL superclass probabilities in findings.csv on the records of
//     fold 9 (the model's validation fold): what a user reads should match `kmerl-train evaluate`.

let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.count == 2 else {
    FileHandle.standardError.write(Data("usage: bench-classify-audit REPORT_DIR PTBXL_FOLDER\n".utf8))
    exit(64)
}
let report = URL(fileURLWithPath: arguments[0])
let labels = try PTBXLLabels(folder: URL(fileURLWithPath: arguments[1]))

/// The rows of a CSV file as dictionaries keyed by the header.
func table(_ name: String) throws -> [[String: String]] {
    let rows = CSVText.rows(try String(contentsOf: report.appendingPathComponent(name), encoding: .utf8))
    guard let header = rows.first else { return [] }
    return rows.dropFirst().filter { $0.count == header.count }.map { Dictionary(uniqueKeysWithValues: zip(header, $0)) }
}

// 1. Stated excluded pairs.
var stated: [String: Set<String>] = [:]
let findings = try table("findings.csv")
for row in findings {
    guard let id = row["record_id"], let concept = row["concept_id"], let q = row["qualifier"] else { continue }
    // The CSV writes "definite" for a finding stated without qualifier, nothing below every band.
    if !q.isEmpty && q != "consider" { stated[id, default: []].insert(concept) }
}
var pairCounts: [String: Int] = [:]
var contradictory = Set<String>()
for (record, concepts) in stated {
    for rule in ConsistencyRules.defaultExclusions where concepts.contains(rule.a) && concepts.contains(rule.b) {
        contradictory.insert(record)
        pairCounts["\(rule.a)+\(rule.b)", default: 0] += 1
    }
}
print("== consistency: records stating both findings of an excluded pair (qualifier other than \"consider\")")
print("  \(contradictory.count) of \(stated.count) records with a stated finding" + (pairCounts.isEmpty ? "" : ": ")
    + pairCounts.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))

// 2. Overall statement vs PTB-XL superclasses.
let statements = ["normal ECG", "otherwise normal ECG", "borderline ECG", "abnormal ECG", "uninterpretable ECG"]
var counts: [String: [String: Int]] = [:]
var unmatched = 0
for row in try table("summary.csv") where row["status"] == "ok" {
    guard let id = row["record_id"], let ecg = Int(id.prefix(5)), let labelled = labels.rows[ecg], let overall = row["overall"] else {
        unmatched += 1
        continue
    }
    let (certain, uncertain) = labels.concepts(of: labelled)
    let classes = Set(PTBXLLabels.superclasses.map(\.id)).intersection(certain.union(uncertain))
    let group = classes.isEmpty ? "no diagnostic label" : classes == ["NORM"] ? "NORM only" : classes.contains("NORM") ? "NORM + abnormal" : "abnormal only"
    counts[group, default: [:]][overall, default: 0] += 1
}
print("== overall statement (columns) against PTB-XL diagnostic superclasses (rows)")
let groups = ["NORM only", "NORM + abnormal", "abnormal only", "no diagnostic label"]
print("  " + "".padding(toLength: 22, withPad: " ", startingAt: 0) + statements.map { $0.replacingOccurrences(of: " ECG", with: "").padding(toLength: 17, withPad: " ", startingAt: 0) }.joined() + "total")
for g in groups {
    let row = counts[g] ?? [:]
    let total = row.values.reduce(0, +)
    print("  " + g.padding(toLength: 22, withPad: " ", startingAt: 0) + statements.map { String(row[$0] ?? 0).padding(toLength: 17, withPad: " ", startingAt: 0) }.joined() + String(total))
}
let abnormal = (counts["abnormal only"] ?? [:])
let abnormalTotal = abnormal.values.reduce(0, +)
let normalOnly = counts["NORM only"] ?? [:]
let normalTotal = normalOnly.values.reduce(0, +)
print(String(format: "  abnormal-only records called \"normal ECG\": %d of %d (%.1f%%); NORM-only records called \"abnormal ECG\": %d of %d (%.1f%%)",
    abnormal["normal ECG"] ?? 0, abnormalTotal, Double(abnormal["normal ECG"] ?? 0) / Double(max(1, abnormalTotal)) * 100,
    normalOnly["abnormal ECG"] ?? 0, normalTotal, Double(normalOnly["abnormal ECG"] ?? 0) / Double(max(1, normalTotal)) * 100))
if unmatched > 0 { print("  (\(unmatched) processed records not found in ptbxl_database.csv)") }

// 3. Fold-9 superclass AUROC of findings.csv.
var superclassScores: [String: [Int: Double]] = [:]
let superclassIDs = PTBXLLabels.superclasses.map(\.id)
for row in findings {
    guard let concept = row["concept_id"], superclassIDs.contains(concept), let id = row["record_id"].flatMap({ Int($0.prefix(5)) }),
        labels.rows[id]?.fold == 9, let p = row["probability"].flatMap(Double.init)
    else { continue }
    superclassScores[concept, default: [:]][id] = p
}
let fold9 = Set(superclassScores.values.flatMap(\.keys)).sorted()
if !fold9.isEmpty {
    var parts: [String] = []
    var aurocs: [Double] = []
    for concept in superclassIDs {
        let truth = fold9.map { id in labels.rows[id].map { labels.concepts(of: $0) }.map { $0.certain.union($0.uncertain).contains(concept) } ?? false }
        guard let a = Metrics.auroc(scores: fold9.map { superclassScores[concept]?[$0] ?? .nan }, labels: truth) else { continue }
        aurocs.append(a)
        parts.append(String(format: "%@ %.3f", concept, a))
    }
    print("== fold 9 (\(fold9.count) records): superclass probabilities in findings.csv")
    print(String(format: "  macro-AUROC %.3f (%@)", aurocs.reduce(0, +) / Double(max(1, aurocs.count)), parts.joined(separator: ", ")))
}
