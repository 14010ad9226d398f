import ECGCore
import Foundation

/// The full measurement pipeline for one record with any subset of leads at any rate:
/// preprocessing (gap bridging, 0.5 Hz baseline removal, 40 Hz low-pass), per-lead quality,
/// fused QRS detection, median beats, per-lead and global delineation, intervals, axes and
/// per-lead amplitudes.
///
/// Leads whose units are not a voltage (e.g. PTB-XL copies in `NU`) get timing but no mV amplitudes
/// and take no part in the axes. A value that cannot be measured is `nil`.
public struct MeasurementPipeline: Sendable {
    /// Per-lead quality thresholds.
    public var quality = SignalQualityAssessor()
    /// The QRS detector.
    public var detector = QRSDetector()
    /// The template-beat delineator.
    public var delineator = Delineator()
    /// At most this many beats form a lead's median beat.
    public var maximumTemplateBeats = 24
    /// Template window before / after the fiducial point, seconds.
    public var templateBefore = 0.45
    public var templateAfter = 0.70

    /// A pipeline with the default settings.
    public init() {}

    /// One lead after preprocessing.
    struct PreparedLead {
        var index: Int
        var signal: [Float]
        var millivoltsPerUnit: Float?
        var quality: LeadQuality
    }

    /// Measures `record`.
    public func measure(_ record: ECGRecord) -> RecordMeasurements {
        var result = RecordMeasurements(record: record.id)
        let fs = record.samplingRate
        guard fs.isFinite, fs > 0 else {
            result.leads = record.leads.map {
                LeadMeasurements(lead: $0.lead, quality: 0, status: .notAnalysable, reasons: ["invalid sampling rate (\(fs) Hz)"])
            }
            return result
        }
        // 1. Preprocessing and quality.
        var prepared: [PreparedLead] = []
        for (index, lead) in record.leads.enumerated() {
            let raw = lead.samples
            let duration = Double(raw.count) / fs
            var q: LeadQuality
            var filtered: [Float] = []
            if duration + 0.5 / fs < quality.minimumDuration {
                q = LeadQuality(score: 0, status: .notAnalysable, reasons: [String(format: "too short (%.2f s, at least %.1f s needed)", duration, quality.minimumDuration)])
            } else {
                let highpassed = Filters.removeBaselineWander(raw, sampleRate: fs)
                filtered = Filters.lowpass(highpassed, sampleRate: fs, cutoff: min(40, 0.45 * fs))
                q = quality.assess(raw: raw, highpassed: highpassed, filtered: filtered, sampleRate: fs, millivoltsPerUnit: lead.millivoltsPerUnit)
                if let scale = lead.millivoltsPerUnit, scale != 1 {
                    for k in 0..<filtered.count { filtered[k] *= scale }
                }
            }
            prepared.append(PreparedLead(index: index, signal: filtered, millivoltsPerUnit: lead.millivoltsPerUnit, quality: q))
        }
        result.leads = prepared.map { p in
            LeadMeasurements(lead: record.leads[p.index].lead, quality: p.quality.score, status: p.quality.status, reasons: p.quality.reasons)
        }
        let usable = prepared.filter { $0.quality.status == .ok }
        guard !usable.isEmpty else { return result }
        // 2. QRS detection fused over the usable leads; rhythm.
        let beats = detector.detect(usable.map(\.signal), sampleRate: fs)
        result.beats = beats
        let rr = zip(beats.dropFirst(), beats).map { Double($0 - $1) * 1000 / fs }
        if !rr.isEmpty {
            let mean = rr.reduce(0, +) / Double(rr.count)
            result.rrMean = mean
            result.heartRate = 60_000 / mean
            if rr.count >= 2 {
                let variance = rr.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(rr.count - 1)
                result.rrSD = variance.squareRoot()
                var successive = 0.0
                for k in 1..<rr.count { successive += (rr[k] - rr[k - 1]) * (rr[k] - rr[k - 1]) }
                result.rrIrregularity = (successive / Double(rr.count - 1)).squareRoot() / mean
            }
        }
        guard !beats.isEmpty else {
            for p in usable { result.leads[p.index].reasons.append("no QRS complex detected") }
            return result
        }
        // 3. Median beats and delineation.
        let medianRR = rr.isEmpty ? Int(fs) : Int(Self.median(rr) * fs / 1000)
        let before = Int(templateBefore * fs), after = Int(templateAfter * fs)
        let templateBeats = selectTemplateBeats(beats, medianRR: medianRR)
        var delineations: [Int: TemplateDelineation] = [:]
        var templates: [Int: [Float]] = [:]
        for p in usable {
            let template = Self.medianBeat(p.signal, beats: templateBeats, before: before, after: after)
            templates[p.index] = template
            delineations[p.index] = delineator.delineate(template, fiducial: before, sampleRate: fs, rr: medianRR)
        }
        func toMs(_ k: Int?) -> Double? { k.map { Double($0 - before) * 1000 / fs } }
        for p in usable {
            guard let d = delineations[p.index], let x = templates[p.index] else { continue }
            result.leads[p.index].boundaries = WaveBoundaries(
                pOnset: toMs(d.pOnset), pPeak: toMs(d.pPeak), pOffset: toMs(d.pOffset), qrsOnset: toMs(d.qrsOnset),
                qrsOffset: toMs(d.qrsOffset), tPeak: toMs(d.tPeak), tOffset: toMs(d.tOffset))
            if p.millivoltsPerUnit != nil {
                applyAmplitudes(&result.leads[p.index], template: x, delineation: d, sampleRate: fs)
            }
        }
        // 4. Global boundaries and intervals.
        let all = usable.compactMap { result.leads[$0.index].boundaries }
        var global = WaveBoundaries()
        global.qrsOnset = Self.robustLow(all.compactMap(\.qrsOnset))
        global.qrsOffset = Self.robustHigh(all.compactMap(\.qrsOffset))
        let pOnsets = all.compactMap(\.pOnset)
        if pOnsets.count * 2 >= all.count, !pOnsets.isEmpty {
            global.pOnset = Self.robustLow(pOnsets)
            global.pOffset = Self.robustHigh(all.compactMap(\.pOffset))
        }
        let tOffsets = all.compactMap(\.tOffset)
        if tOffsets.count * 2 >= all.count { global.tOffset = Self.robustHigh(tOffsets) }
        result.boundaries = global
        if let on = global.qrsOnset, let off = global.qrsOffset, off > on { result.qrsDuration = off - on }
        if let p = global.pOnset, let q = global.qrsOnset, q > p { result.prInterval = q - p }
        if let t = global.tOffset, let q = global.qrsOnset, t > q {
            result.qtInterval = t - q
            if let rrMean = result.rrMean, rrMean > 0 {
                let seconds = rrMean / 1000
                result.qtcBazett = (t - q) / seconds.squareRoot()
                result.qtcFridericia = (t - q) / Foundation.pow(seconds, 1.0 / 3.0)
            }
        }
        // 5. Frontal axes from the limb leads' areas over the global waves.
        func index(_ ms: Double?) -> Int? { ms.map { before + Int(($0 * fs / 1000).rounded()) } }
        var limb: [(angle: Double, template: [Float], base: Float)] = []
        for p in usable where p.millivoltsPerUnit != nil {
            guard let std = record.leads[p.index].lead.standardLead, std.isLimb,
                let x = templates[p.index], let d = delineations[p.index]
            else { continue }
            limb.append((Self.leadAngle[std] ?? 0, x, d.baseline))
        }
        func axis(from a: Int?, to b: Int?) -> Double? {
            guard let a, let b, b > a, limb.count >= 2 else { return nil }
            var projections: [(Double, Double)] = []
            for l in limb {
                let lo = max(0, a), hi = min(l.template.count - 1, b)
                guard hi > lo else { return nil }
                var area: Double = 0
                for k in lo...hi { area += Double(l.template[k] - l.base) }
                projections.append((l.angle, area))
            }
            return Self.frontalAxis(projections)
        }
        result.qrsAxis = axis(from: index(global.qrsOnset), to: index(global.qrsOffset))
        result.pAxis = axis(from: index(global.pOnset), to: index(global.pOffset))
        result.tAxis = axis(from: index(global.qrsOffset), to: index(global.tOffset))
        return result
    }

    /// Beats for the median beat: those at a typical RR (ectopic-looking timing excluded), evenly thinned.
    func selectTemplateBeats(_ beats: [Int], medianRR: Int) -> [Int] {
        var typical: [Int] = []
        for (k, b) in beats.enumerated() {
            if k > 0 {
                let previous = Double(b - beats[k - 1])
                if previous < 0.8 * Double(medianRR) { continue }
            }
            if k + 1 < beats.count {
                let next = Double(beats[k + 1] - b)
                if next > 1.3 * Double(medianRR), k > 0 { continue }  // compensatory pause after an ectopic
            }
            typical.append(b)
        }
        if typical.isEmpty { typical = beats }
        if typical.count <= maximumTemplateBeats { return typical }
        let step = Double(typical.count) / Double(maximumTemplateBeats)
        return (0..<maximumTemplateBeats).map { typical[Int(Double($0) * step)] }
    }

    /// The sample-wise median of the windows [b − before, b + after] around `beats` (positions that
    /// no beat covers take the nearest covered value).
    static func medianBeat(_ x: [Float], beats: [Int], before: Int, after: Int) -> [Float] {
        let length = before + after + 1
        var template = [Float](repeating: .nan, count: length)
        var values = [Float](repeating: 0, count: beats.count)
        x.withUnsafeBufferPointer { s in
            for j in 0..<length {
                var m = 0
                for b in beats {
                    let k = b - before + j
                    if k >= 0, k < s.count {
                        // insertion sort as we go
                        let v = s[k]
                        var i = m
                        while i > 0, values[i - 1] > v {
                            values[i] = values[i - 1]
                            i -= 1
                        }
                        values[i] = v
                        m += 1
                    }
                }
                if m > 0 { template[j] = m % 2 == 1 ? values[m / 2] : 0.5 * (values[m / 2 - 1] + values[m / 2]) }
            }
        }
        // Fill uncovered positions from the nearest covered one.
        if let firstCovered = template.firstIndex(where: { !$0.isNaN }) {
            for j in 0..<firstCovered { template[j] = template[firstCovered] }
            for j in firstCovered..<length where template[j].isNaN { template[j] = template[j - 1] }
        } else {
            template = [Float](repeating: 0, count: length)
        }
        return template
    }

    /// Amplitudes, ST level and QRS area of a voltage lead (template in mV).
    func applyAmplitudes(_ lead: inout LeadMeasurements, template x: [Float], delineation d: TemplateDelineation, sampleRate fs: Double) {
        let base = d.baseline
        guard let on = d.qrsOnset, let off = d.qrsOffset, off > on else { return }
        var rIndex = on
        var rValue = -Float.infinity
        var area: Double = 0
        for k in on...off {
            let v = x[k] - base
            area += Double(v)
            if v > rValue {
                rValue = v
                rIndex = k
            }
        }
        lead.qrsArea = area * 1000 / fs
        let hasR = rValue > 0.02
        lead.rAmplitude = Double(max(0, rValue))
        if hasR {
            lead.qAmplitude = Double(min(0, x[on...rIndex].map { $0 - base }.min() ?? 0))
            lead.sAmplitude = Double(min(0, x[rIndex...off].map { $0 - base }.min() ?? 0))
        } else {
            lead.qAmplitude = Double(min(0, x[on...off].map { $0 - base }.min() ?? 0))
        }
        if let p = d.pPeak { lead.pAmplitude = Double(x[p] - base) }
        if let t = d.tPeak { lead.tAmplitude = Double(x[t] - base) }
        let j60 = off + Int((0.06 * fs).rounded())
        if j60 < x.count, d.tPeak.map({ j60 < $0 + Int(0.1 * fs) }) ?? true { lead.stJ60 = Double(x[j60] - base) }
    }

    /// Hexaxial angles of the limb leads, degrees.
    static let leadAngle: [StandardLead: Double] = [.i: 0, .ii: 60, .iii: 120, .aVR: -150, .aVL: -30, .aVF: 90]

    /// The frontal-plane angle (degrees, (−180, 180]) of the vector whose projections on leads at
    /// the given angles best match the given values (least squares); nil when the leads are collinear.
    public static func frontalAxis(_ projections: [(angle: Double, value: Double)]) -> Double? {
        var sxx = 0.0, sxy = 0.0, syy = 0.0, bx = 0.0, by = 0.0
        for (angle, value) in projections {
            let c = cos(angle * .pi / 180), s = sin(angle * .pi / 180)
            sxx += c * c
            sxy += c * s
            syy += s * s
            bx += c * value
            by += s * value
        }
        let det = sxx * syy - sxy * sxy
        guard det > 1e-6 else { return nil }
        let vx = (syy * bx - sxy * by) / det
        let vy = (sxx * by - sxy * bx) / det
        guard vx != 0 || vy != 0 else { return nil }
        return atan2(vy, vx) * 180 / .pi
    }

    static func median(_ values: [Double]) -> Double {
        let s = values.sorted()
        let m = s.count
        return m % 2 == 1 ? s[m / 2] : 0.5 * (s[m / 2 - 1] + s[m / 2])
    }

    /// An early-but-robust value (25th percentile; the minimum for two values).
    static func robustLow(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let s = values.sorted()
        return s[Int((0.25 * Double(s.count - 1)).rounded(.down))]
    }

    /// A late-but-robust value (75th percentile; the maximum for two values).
    static func robustHigh(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let s = values.sorted()
        return s[Int((0.75 * Double(s.count - 1)).rounded(.up))]
    }
}
