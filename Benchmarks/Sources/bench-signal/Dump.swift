import ECGCore
import ECGFormats
import ECGSignal
import Foundation

/// Writes one CSV row per expert boundary of LUDB records: record, lead, boundary, reference
/// sample, error (ms, empty when unmatched within 150 ms), the lead's own template boundary (ms from
/// the fiducial), the record's global boundary, heart rate and QRS duration. For error analysis.
func dumpErrors(records: [ECGRecord], pipeline: MeasurementPipeline, root: URL, to url: URL) {
    var lines = ["record,lead,boundary,reference,error,beatIndex,qrsDuration,heartRate,subsetQRS_II,subsetQRS_I_II,subsetQRS_limb"]
    let names = DelineationScore.boundaryNames
    var total = DelineationScore()
    let subset = ProcessInfo.processInfo.environment["KMERL_SIGNAL_LEADS"].map { Set($0.split(separator: ",").compactMap { n in StandardLead.allCases.first { $0.name == String(n) } }) }
    for full in records {
        let record = subset.map { full.keeping($0) } ?? full
        let m = pipeline.measure(record)
        if let spikes = m.pacingSpikes { FileHandle.standardError.write(Data("record \(record.id): \(spikes.count) pacing spikes\n".utf8)) }
        let fs = record.samplingRate
        let ii = pipeline.measure(record.keeping([.ii])).qrsDuration
        let i2 = pipeline.measure(record.keeping([.i, .ii])).qrsDuration
        let limb = pipeline.measure(record.keeping(Set(StandardLead.limbLeads))).qrsDuration
        func f(_ v: Double?) -> String { v.map { String(format: "%.1f", $0) } ?? "" }
        for (index, lead) in record.leads.enumerated() {
            guard let std = lead.lead.standardLead else { continue }
            let annotationURL = root.appendingPathComponent("ludb/data/\(record.id).\(std.name.lowercased())")
            guard let annotations = try? WFDBAnnotations.read(annotationURL) else { continue }
            let reference = WFDBAnnotations.waves(annotations)
            let detected = DelineationScore.detectedPositions(beats: m.beats, lead: m.leads[index], sampleRate: fs)
            total.add(reference: reference, detected: detected, sampleRate: fs)
            for wave in reference {
                for (type, position) in DelineationScore.boundaries(of: wave) {
                    guard let position else { continue }
                    var best: Double?
                    var beatIndex = -1
                    for (k, d) in detected[type].enumerated() {
                        let e = Double(d - position) * 1000 / fs
                        if abs(e) <= 150, best.map({ abs(e) < abs($0) }) ?? true {
                            best = e
                            beatIndex = k
                        }
                    }
                    lines.append("\(record.id),\(std.name),\(names[type]),\(position),\(f(best)),\(beatIndex),\(f(m.qrsDuration)),\(f(m.heartRate)),\(f(ii)),\(f(i2)),\(f(limb))")
                }
            }
        }
    }
    print(total.table(title: "kmerl delineation vs LUDB experts, all 12 leads"))
    do {
        try Data(lines.joined(separator: "\n").utf8).write(to: url, options: .atomic)
    } catch {
        fail("cannot write \(url.path): \(error)")
    }
}

/// Settings overridden from the environment for experiments: `KMERL_SIGNAL_SET="name=value;..."`.
func applyOverrides(_ p: inout MeasurementPipeline) {
    guard let text = ProcessInfo.processInfo.environment["KMERL_SIGNAL_SET"] else { return }
    for item in text.split(separator: ";") {
        let parts = item.split(separator: "=")
        guard parts.count == 2, let v = Double(parts[1]) else { continue }
        switch parts[0] {
        case "morphologyCorrelation": p.morphologyCorrelation = v
        case "keepBeatBoundaries": p.keepBeatBoundaries = v > 0
        case "excludeOtherMorphologies": p.excludeOtherMorphologies = v > 0
        case "pacing": p.pacing = v > 0 ? PacingSpikeDetector() : nil
        case "pacingNear": p.pacing?.returnDistance = v
        case "pacingFar": p.pacing?.wideDistance = v
        case "pacingHalf": p.pacing?.halfWidth = v
        case "pacingLeads": p.pacing?.minimumLeads = Int(v)
        case "keepMedianBeats": p.keepMedianBeats = v > 0
        case "tLimit": p.deviationLimits.tOffset = v > 0 ? v : nil
        case "pOnLimit": p.deviationLimits.pOnset = v > 0 ? v : nil
        case "pOffLimit": p.deviationLimits.pOffset = v > 0 ? v : nil
        case "qOnLimit": p.deviationLimits.qrsOnset = v > 0 ? v : nil
        case "qOffLimit": p.deviationLimits.qrsOffset = v > 0 ? v : nil
        case "flatness": p.delineator.qrsFlatness = v
        case "flatOnset": p.delineator.qrsFlatOnset = v > 0
        case "flatWindow": p.delineator.flatWindow = v
        case "maxExtension": p.delineator.maximumExtension = v
        case "terminalSlope": p.delineator.terminalReturnSlope = v
        case "terminalDeviation": p.delineator.terminalDeviation = v
        case "terminalReach": p.delineator.terminalReach = v
        case "qrsOnsetValley": p.delineator.qrsOnsetValley = v
        case "alignmentReach": p.alignmentReach = v
        case "fewLeadsAlignmentReach": p.fewLeadsAlignmentReach = v
        case "leadBoundaryWeight": p.leadBoundaryWeight = v
        case "globalQRSQuantile": p.globalQRSQuantile = v
        case "consensusOnset": p.consensusLevels.onset = v
        case "consensusOffset": p.consensusLevels.offset = v
        case "consensusShiftOnset": p.consensusShift.onset = v
        case "consensusShiftOffset": p.consensusShift.offset = v
        case "qrsSignificantSlope": p.delineator.qrsSignificantSlope = v
        case "qrsOnsetSlope": p.delineator.qrsOnsetSlope = v
        case "qrsOffsetSlope": p.delineator.qrsOffsetSlope = v
        case "slopeSmoothing": p.delineator.slopeSmoothing = v
        case "pWindow": p.delineator.pWindow = v
        case "tWindow": p.delineator.tWindow = v
        case "lowTWave": p.lowTWave = v
        case "lowTWaveReach": p.lowTWaveReach = v
        case "lowTWaveWeight": p.lowTWaveWeight = v
        case "beatTOffsetReach": p.beatTOffsetReach = v
        case "beatTOffsetWeight": p.beatTOffsetWeight = v
        case "terminalTPhase": p.delineator.terminalTPhase = v
        case "terminalTGap": p.delineator.terminalTGap = v
        case "terminalTMinimum": p.delineator.terminalTMinimum = v
        case "terminalTWindow": p.delineator.terminalTWindow = v
        case "terminalTReach": p.delineator.terminalTReach = v
        case "terminalTMaximumQTc": p.delineator.terminalTMaximumQTc = v
        case "terminalTDuration": p.delineator.terminalTDuration = v
        case "tOffsetShift": p.delineator.tOffsetShift = v
        case "qrsOnsetShift": p.delineator.qrsOnsetShift = v
        case "qrsOffsetShift": p.delineator.qrsOffsetShift = v
        case "pOnsetShift": p.delineator.pOnsetShift = v
        case "pOffsetShift": p.delineator.pOffsetShift = v
        default: FileHandle.standardError.write(Data("unknown setting \(parts[0])\n".utf8))
        }
    }
}

/// Writes the measurements (with median beats when kept) of every record as JSON, for offline analysis.
func dumpMeasurements(records: [ECGRecord], pipeline: MeasurementPipeline, to url: URL) {
    let all = records.map(pipeline.measure)
    do {
        try JSONEncoder().encode(all).write(to: url, options: .atomic)
    } catch {
        fail("cannot write \(url.path): \(error)")
    }
}

/// bench-signal DATA_ROOT --subsets OUT.json: every record measured from lead II alone, I+II, the six
/// limb leads and all twelve (an array per record of four measurement objects), for analysing the
/// lead-subset agreement.
func dumpSubsets(records: [ECGRecord], pipeline: MeasurementPipeline, to url: URL) {
    let subsets: [Set<StandardLead>] = [[.ii], [.i, .ii], Set(StandardLead.limbLeads), Set(StandardLead.allCases)]
    let all = records.map { record in subsets.map { pipeline.measure(record.keeping($0)) } }
    do {
        try JSONEncoder().encode(all).write(to: url, options: .atomic)
    } catch {
        fail("cannot write \(url.path): \(error)")
    }
}
