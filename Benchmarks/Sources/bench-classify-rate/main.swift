import ECGCore
import ECGFormats
import ECGSignal
import Foundation

// bench-classify-rate LUDB_DATA_DIR [--rates 500,250]
//
// Is it correct to delineate 100 Hz records (PTB-XL records100) at 250 Hz instead of 500 Hz?
// LUDB records 1–200 (500 Hz) are brought down to 100 Hz (Resampler, as the PTB-XL 100 Hz copies
// were made), then measured at each analysis rate; every interval is compared with the same
// record measured at its native 500 Hz. Prints the mean absolute and mean signed difference per
// measurement and rate, and the CPU time per record of each rate.

var arguments = Array(CommandLine.arguments.dropFirst())
guard let folder = arguments.first else {
    FileHandle.standardError.write(Data("usage: bench-classify-rate LUDB_DATA_DIR [--rates 500,250]\n".utf8))
    exit(64)
}
var rates = [500.0, 250.0]
if let i = arguments.firstIndex(of: "--rates"), i + 1 < arguments.count {
    rates = arguments[i + 1].split(separator: ",").compactMap { Double($0) }
}

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
}

let keys: [(String, KeyPath<RecordMeasurements, Double?>)] = [
    ("heart rate (bpm)", \.heartRate), ("PR (ms)", \.prInterval), ("QRS (ms)", \.qrsDuration), ("QT (ms)", \.qtInterval),
    ("QTc Bazett (ms)", \.qtcBazett), ("QRS axis (°)", \.qrsAxis), ("P axis (°)", \.pAxis), ("T axis (°)", \.tAxis),
]
var native: [RecordMeasurements] = []
var low: [ECGRecord] = []
for n in 1...200 {
    let url = URL(fileURLWithPath: folder).appendingPathComponent("\(n).hea")
    guard let record = try? ECGReader.read(url) else { continue }
    native.append(MeasurementPipeline().measure(record))
    var r = record
    r.samplingRate = 100
    for k in r.leads.indices { r.leads[k].samples = Resampler.resample(record.leads[k].samples, from: record.samplingRate, to: 100) }
    low.append(r)
}
print("bench-classify-rate: \(low.count) LUDB records at 100 Hz, each interval against the same record measured at its native 500 Hz")
for rate in rates {
    var pipeline = MeasurementPipeline()
    pipeline.analysisRate = rate
    let start = cpuSeconds()
    let measured = low.map { pipeline.measure($0) }
    let cpu = (cpuSeconds() - start) / Double(low.count) * 1000
    print(String(format: "  analysis at %.0f Hz: %.2f ms CPU per 12-lead record (measurement only)", rate, cpu))
    for (name, key) in keys {
        var diffs: [Double] = []
        var missing = 0
        for (m, ref) in zip(measured, native) {
            guard let r = ref[keyPath: key] else { continue }
            guard let v = m[keyPath: key] else { missing += 1; continue }
            var d = v - r
            if name.contains("axis") { d = (d + 540).truncatingRemainder(dividingBy: 360) - 180 }
            diffs.append(d)
        }
        let mae = diffs.map(abs).reduce(0, +) / Double(max(1, diffs.count))
        let bias = diffs.reduce(0, +) / Double(max(1, diffs.count))
        let sorted = diffs.map(abs).sorted()
        let p90 = sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * 0.9))]
        print(String(format: "    %-18@ mean |Δ| %6.2f  bias %+6.2f  90th pct |Δ| %6.2f  (n %d, not measured %d)", name as NSString, mae, bias, p90, diffs.count, missing))
    }
}
