import ECGCore
import ECGFormats
import ECGSignal
import Foundation
import KMERLTestSupport
import Testing

@Suite struct ExploreTests {
    func score(_ pipeline: MeasurementPipeline, _ records: [(ECGRecord, [[ReferenceWave]])]) -> DelineationScore {
        var total = DelineationScore()
        for (record, refs) in records {
            let m = pipeline.measure(record)
            for index in record.leads.indices {
                let detected = DelineationScore.detectedPositions(beats: m.beats, boundaries: m.leads[index].boundaries, sampleRate: 500)
                total.add(reference: refs[index], detected: detected, sampleRate: 500)
            }
        }
        return total
    }

    @Test func explore() throws {
        guard let spec = ProcessInfo.processInfo.environment["KMERL_EXPLORE"] else { return }
        var records: [(ECGRecord, [[ReferenceWave]])] = []
        for n in 1...100 {
            let record = try TestRecords.ludb(n)
            let refs = try record.leads.map { lead in
                try TestRecords.ludbWaves(n, lead: TestRecords.ludbSuffix(lead.lead.standardLead!)).map { ReferenceWave(kind: $0.kind, onset: $0.onset, peak: $0.peak, offset: $0.offset) }
            }
            records.append((record, refs))
        }
        func show(_ label: String, _ s: DelineationScore) {
            print(label, s.statistics.map { String(format: "%@ %.1f/%.1f/%.1f%%", $0.name, $0.mean, $0.standardDeviation, $0.fractionMatched * 100) }.joined(separator: " | "))
        }
        if spec.hasPrefix("dump") {
            for n in spec.dropFirst(5).split(separator: "/").map({ Int($0)! }) {
                let m = MeasurementPipeline().measure(records[n - 1].0)
                print("DUMP", n, "beats", m.beats.map(String.init).joined(separator: " "))
                for l in m.leads { print("DUMP", n, l.lead.name, l.boundaries.map { b in [b.pOnset, b.pOffset, b.qrsOnset, b.qrsOffset, b.tPeak, b.tOffset].map { $0.map { String($0) } ?? "nan" }.joined(separator: " ") } ?? "") }
            }
            return
        }
        if spec == "split" {
            let p = MeasurementPipeline()
            var within = [[Double]](repeating: [], count: 5), between = [[Double]](repeating: [], count: 5)
            for (record, refs) in records {
                let m = p.measure(record)
                for index in record.leads.indices {
                    let detected = DelineationScore.detectedPositions(beats: m.beats, boundaries: m.leads[index].boundaries, sampleRate: 500)
                    var e = [[Double]](repeating: [], count: 5)
                    for w in refs[index] {
                        let pairs: [(Int, Int?)] = w.kind == "N" ? [(0, w.onset), (1, w.offset)] : w.kind == "p" ? [(2, w.onset), (3, w.offset)] : [(4, w.offset)]
                        for (t, pos) in pairs {
                            guard let pos, let best = detected[t].map({ Double($0 - pos) * 2 }).min(by: { abs($0) < abs($1) }), abs(best) <= 150 else { continue }
                            e[t].append(best)
                        }
                    }
                    for t in 0..<5 where e[t].count >= 2 {
                        let mean = e[t].reduce(0, +) / Double(e[t].count)
                        between[t].append(mean)
                        within[t] += e[t].map { $0 - mean }
                    }
                }
            }
            func sd(_ v: [Double]) -> Double { let m = v.reduce(0, +) / Double(v.count); return (v.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(v.count)).squareRoot() }
            for t in 0..<5 { print("QRS-split", DelineationScore.boundaryNames[t], "within SD", sd(within[t]), "between SD", sd(between[t])) }
            return
        }
        for spec1 in spec.split(separator: ";") {
            var p = MeasurementPipeline()
            for kv in spec1.split(separator: ",") {
                let parts = kv.split(separator: "=")
                let v = Double(parts[1])!
                switch parts[0] {
                case "on": p.delineator.qrsOnsetSlope = v
                case "off": p.delineator.qrsOffsetSlope = v
                case "sig": p.delineator.qrsSignificantSlope = v
                case "pw": p.delineator.pWindow = v
                case "tw": p.delineator.tWindow = v
                case "w": p.leadBoundaryWeight = v
                case "align": p.alignmentReach = v
                case "knee": p.delineator.useKnee = v > 0
                case "reach": p.delineator.kneeReach = v
                default: break
                }
            }
            show(String(spec1), score(p, records))
        }
    }
}
