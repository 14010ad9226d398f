import Classification
import ECGCore
import ECGFormats
import Foundation

// bench-classify FOLDER [--leads I,II] [--jobs N] [--out DIR] [--model FILE]
//
// End-to-end classification of every record below FOLDER (read, measure, encode, score every
// concept, write findings.csv, summary.csv and one HTML page per record) with the embedded
// ontology and model; prints records/s and the process's peak RSS.

var arguments = Array(CommandLine.arguments.dropFirst())
@MainActor func option(_ name: String) -> String? {
    guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count else { return nil }
    let value = arguments[i + 1]
    arguments.removeSubrange(i...(i + 1))
    return value
}
let leadsText = option("--leads")
let jobs = option("--jobs").flatMap(Int.init)
let outPath = option("--out") ?? NSTemporaryDirectory() + "bench-classify-out"
let modelPath = option("--model")
guard let folder = arguments.first else {
    FileHandle.standardError.write(Data("usage: bench-classify FOLDER [--leads I,II] [--jobs N] [--out DIR]\n".utf8))
    exit(64)
}

var options = ClassifyOptions()
if let jobs { options.jobs = jobs }
if let leadsText {
    options.leads = Set(leadsText.split(separator: ",").compactMap { Lead.standard(forAlias: String($0)) })
}

/// This process's resource usage so far.
func selfUsage() -> rusage {
    var usage = rusage()
    #if os(Linux)
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    #else
    getrusage(RUSAGE_SELF, &usage)
    #endif
    return usage
}

func cpuSeconds() -> Double {
    let usage = selfUsage()
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
}

func peakRSSMegabytes() -> Double {
    Double(selfUsage().ru_maxrss) / 1024  // kilobytes on Linux
}

func loadAverage() -> Double {
    var loads = [Double](repeating: 0, count: 3)
    return getloadavg(&loads, 3) > 0 ? loads[0] : .nan
}

let clock = ContinuousClock()
let setupStart = clock.now
let modelData = try modelPath.map { try Data(contentsOf: URL(fileURLWithPath: $0)) }
let batch = try BatchClassifier(store: nil, modelData: modelData, options: options)
let setup = clock.now - setupStart
let discoveryStart = clock.now
let discovery = RecordDiscovery.discover([URL(fileURLWithPath: folder)])
let inputs: [BatchInput] = discovery.records.map { BatchInput($0) }
let discoveryTime = clock.now - discoveryStart
let cpuStart = cpuSeconds()
let start = clock.now
let summary = try await batch.classify(inputs, skipped: discovery.skipped, into: URL(fileURLWithPath: outPath))
let elapsed = clock.now - start
let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
let cpu = cpuSeconds() - cpuStart
let cores = Double(ProcessInfo.processInfo.activeProcessorCount)
let d = summary.durations
print("bench-classify: \(folder) leads=\(leadsText ?? "all") jobs=\(options.jobs) concepts=\(batch.classifier.concepts.count)")
print(String(format: "  records: %d processed, %d failed; setup %@, discovery %@", summary.processed, summary.failed, "\(setup)", "\(discoveryTime)"))
print(String(format: "  wall %.2f s → %.1f records/s", seconds, Double(summary.processed) / seconds))
// On a shared machine the wall clock depends on other load; CPU time per record does not.
print(String(format: "  CPU %.2f s = %.2f ms/record → %.0f records/s if the %.0f cores were ours (load average now %.1f)",
    cpu, cpu / Double(max(1, summary.processed)) * 1000, Double(summary.processed) / cpu * cores, cores, loadAverage()))
print(String(format: "  work per record: read %.2f ms, measure %.2f ms, encode+score %.2f ms, render %.2f ms; store %.2f s",
    d.read / Double(max(1, summary.processed)) * 1000, d.measure / Double(max(1, summary.processed)) * 1000,
    d.score / Double(max(1, summary.processed)) * 1000, d.render / Double(max(1, summary.processed)) * 1000, d.store))
print(String(format: "  peak RSS %.1f MB", peakRSSMegabytes()))
