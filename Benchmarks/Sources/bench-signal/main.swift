import ECGCore
import ECGFormats
import ECGSignal
import Foundation

// bench-signal DATA_ROOT [STATS_JSON]
// Times the full measurement pipeline on LUDB records 1–100 (12 leads, 10 s, 500 Hz) on one core,
// and scores kmerl's delineation against the expert annotations (all 12 leads, and lead II alone).

let arguments = CommandLine.arguments
let root = URL(fileURLWithPath: arguments.count > 1 ? arguments[1] : "../../shared/data")
let statsPath = arguments.count > 2 ? arguments[2] : nil

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("bench-signal: \(message)\n".utf8))
    exit(1)
}

var records: [ECGRecord] = []
for n in 1...100 {
    do {
        records.append(try ECGReader.read(root.appendingPathComponent("ludb/data/\(n).hea")))
    } catch {
        fail("cannot read LUDB record \(n): \(error)")
    }
}
// Timed: the pipeline as `kmerl-batch measure` runs it. Scored: the same with per-beat boundaries kept.
var timedPipeline = MeasurementPipeline()
applyOverrides(&timedPipeline)
var pipeline = timedPipeline
pipeline.keepBeatBoundaries = true
applyOverrides(&pipeline)

// bench-signal DATA_ROOT --dump OUT.csv: per-lead, per-annotated-boundary errors for analysis (no timing).
if arguments.count > 3, arguments[2] == "--json" {
    dumpMeasurements(records: records, pipeline: pipeline, to: URL(fileURLWithPath: arguments[3]))
    exit(0)
}
if arguments.count > 3, arguments[2] == "--subsets" {
    dumpSubsets(records: records, pipeline: pipeline, to: URL(fileURLWithPath: arguments[3]))
    exit(0)
}
if arguments.count > 3, arguments[2] == "--dump" {
    dumpErrors(records: records, pipeline: pipeline, root: root, to: URL(fileURLWithPath: arguments[3]))
    exit(0)
}

/// CPU time of this thread, seconds (what "per core" means on a shared, loaded machine).
func threadCPUSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

/// Runs `body` over `inputs` repeatedly for about `seconds` of CPU time; returns records per
/// CPU-second and per wall-second.
@MainActor func rate(_ inputs: [ECGRecord], seconds: Double, _ keep: (([RecordMeasurements]) -> Void)? = nil) -> (cpu: Double, wall: Double) {
    let clock = ContinuousClock()
    var passes = 0
    let wallStart = clock.now
    let cpuStart = threadCPUSeconds()
    repeat {
        let m = inputs.map(timedPipeline.measure)
        keep?(m)
        passes += 1
    } while threadCPUSeconds() - cpuStart < seconds
    let cpu = threadCPUSeconds() - cpuStart
    let wall = clock.now - wallStart
    let wallSeconds = Double(wall.components.seconds) + Double(wall.components.attoseconds) * 1e-18
    return (Double(passes * inputs.count) / cpu, Double(passes * inputs.count) / wallSeconds)
}

// bench-signal DATA_ROOT --profile SECONDS [II]: only the timed 12-lead (or lead II) passes, for a profiler.
if arguments.count > 3, arguments[2] == "--profile", let seconds = Double(arguments[3]) {
    let inputs = arguments.count > 4 && arguments[4] == "II" ? records.map { $0.keeping([.ii]) } : records
    let r = rate(inputs, seconds: seconds)
    print(String(format: "%.0f records per CPU-second (%.3f ms CPU per record)", r.cpu, 1000 / r.cpu))
    exit(0)
}

// Warm-up, then timed passes (single thread).
_ = records.prefix(10).map(timedPipeline.measure)
let full = rate(records, seconds: 3)
let measured = records.map(pipeline.measure)
let leadII = records.map { $0.keeping([.ii]) }
let single = rate(leadII, seconds: 2)
let perSecond = full.cpu
let perSecondII = single.cpu
print(String(format: "kmerl full pipeline, LUDB 1-100 (12 leads, 10 s, 500 Hz), 1 core: %.0f records per CPU-second (%.2f ms CPU per record; %.0f records/s wall clock)", full.cpu, 1000 / full.cpu, full.wall))
print(String(format: "kmerl full pipeline, lead II only, 1 core: %.0f records per CPU-second (%.2f ms; %.0f/s wall clock)", single.cpu, 1000 / single.cpu, single.wall))

// Delineation scores.
@MainActor func score(_ leads: Set<StandardLead>?, records: [ECGRecord], measurements: [RecordMeasurements]) -> DelineationScore {
    var total = DelineationScore()
    for (record, m) in zip(records, measurements) {
        for (index, lead) in record.leads.enumerated() {
            guard let std = lead.lead.standardLead, leads.map({ $0.contains(std) }) ?? true else { continue }
            let url = root.appendingPathComponent("ludb/data/\(record.id).\(std.name.lowercased())")
            guard let annotations = try? WFDBAnnotations.read(url) else { fail("cannot read \(url.path)") }
            let reference = WFDBAnnotations.waves(annotations)
            let detected = DelineationScore.detectedPositions(beats: m.beats, lead: m.leads[index], sampleRate: record.samplingRate)
            total.add(reference: reference, detected: detected, sampleRate: record.samplingRate)
        }
    }
    return total
}
let all = score(nil, records: records, measurements: measured)
let iiFrom12 = score([.ii], records: records, measurements: measured)
let iiAlone = score([.ii], records: leadII, measurements: leadII.map(pipeline.measure))
print(all.table(title: "\nkmerl delineation vs LUDB experts, all 12 leads (150 ms window)"))
print(iiFrom12.table(title: "\nkmerl delineation, lead II (measured with all 12 leads)"))
print(iiAlone.table(title: "\nkmerl delineation, lead II (lead II alone)"))

// Lead subsets: the same record from lead II alone, I+II, the six limb leads and all twelve (the
// exceptions and their reasons: `swift test --filter leadSubsetsAgree`).
do {
    let subsets: [Set<StandardLead>] = [[.ii], [.i, .ii], Set(StandardLead.limbLeads)]
    var hrAgree = 0, qrsAgree = 0
    for (record, m) in zip(records, measured) {
        let results = subsets.map { timedPipeline.measure(record.keeping($0)) } + [m]
        let hr = results.compactMap(\.heartRate), qrs = results.compactMap(\.qrsDuration)
        if let lo = hr.min(), let hi = hr.max(), hi - lo <= 2 { hrAgree += 1 }
        if let lo = qrs.min(), let hi = qrs.max(), hi - lo <= 12 { qrsAgree += 1 }
    }
    print("\nLead subsets (II, I+II, 6 limb, 12) on LUDB 1-100: HR within ±2 bpm in \(hrAgree) records, QRS duration within ±12 ms in \(qrsAgree)")
}

if let statsPath {
    func json(_ s: DelineationScore) -> [[String: Any]] {
        s.statistics.map { ["name": $0.name, "annotated": $0.annotated, "matched": $0.matched, "mean": $0.mean, "sd": $0.standardDeviation] }
    }
    let object: [String: Any] = [
        "recordsPerSecond": perSecond, "recordsPerSecondLeadII": perSecondII,
        "all": json(all), "leadII": json(iiFrom12), "leadIIAlone": json(iiAlone),
    ]
    do {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: URL(fileURLWithPath: statsPath), options: .atomic)
    } catch {
        fail("cannot write \(statsPath): \(error)")
    }
}
