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
    public var maximumTemplateBeats = 30
    /// Template window before / after the fiducial point, seconds.
    public var templateBefore = 0.45
    public var templateAfter = 0.70
    /// How much of a lead's own boundary is kept against the median over all analysable leads
    /// (1 = the lead's own boundary, 0 = the median of the leads); pulls noisy leads toward the
    /// consensus.
    public var leadBoundaryWeight = 0.2
    /// Boundaries that keep the lead's own value up to this many ms from the multi-lead centre
    /// (and no further), instead of being pulled by `leadBoundaryWeight` (one limit per boundary,
    /// nil = the weight). For the P and T boundaries, which genuinely differ from lead to lead but
    /// whose per-lead estimate now and then latches onto a wrong point: a Huber-like compromise.
    public var deviationLimits = WaveBoundaries(pOnset: 15, pOffset: 15, tOffset: 15)
    /// A voltage lead whose T wave deviates less than this (mV) from the isoelectric level has a low
    /// or flat T wave (the usual clinical limit): its own T end is unreliable, so its T offset is
    /// searched near the multi-lead centre instead (`Delineator.lowTWaveOffset`, within
    /// ± `lowTWaveReach` ms) and weighted `lowTWaveWeight` against that centre. 0 = off.
    public var lowTWave = 0.1
    public var lowTWaveReach = 80.0
    public var lowTWaveWeight = 0.5
    /// Per-beat T offsets (with `keepBeatBoundaries`) of leads with a clear T wave: each beat's own
    /// area-indicator end within ± this many ms of the lead's median-beat T offset, weighted
    /// `beatTOffsetWeight` against it (0 = every beat takes the median beat's T offset).
    public var beatTOffsetReach = 30.0
    public var beatTOffsetWeight = 0.5
    /// Beats are re-aligned on the median beat's QRS within ± this many seconds (0 = off).
    public var alignmentReach = 0.016
    /// The same with fewer than three usable leads (nil = `alignmentReach`): without detections fused
    /// over many leads the fiducial point of a low or notched QRS can land on either of its peaks
    /// from beat to beat, and a median beat of such beats is smeared (LUDB record 83, lead II
    /// alone: 186 ms instead of 150).
    public var fewLeadsAlignmentReach: Double? = 0.03
    /// Global QRS onset = this quantile of the leads' onsets, offset = the (1 − q) quantile of
    /// their offsets (0 = earliest to latest, 0.5 = median lead).
    public var globalQRSQuantile = 0.4
    /// With exactly two leads the global QRS offset is the later lead's, unless that lead's end is
    /// ill-defined: its S wave runs on into an ST segment still sloping at least `twoLeadOffsetSlope`
    /// × its maximal QRS slope (mean over the 20 ms after its end, `Delineator.slopeAfter`) and at
    /// least `twoLeadOffsetRatio` × as steeply as after the other lead's end, which then settles
    /// into a flat ST segment at a sharp J point: the QRS then ends at that other lead's end
    /// (LUDB record 99, I+II: lead I's end 13 ms after the experts' on an ST segment rising at
    /// 4 % of the QRS slope; lead II's 0.9 %). 0 = off.
    public var twoLeadOffsetSlope = 0.03
    public var twoLeadOffsetRatio = 3.5
    /// Keep each lead's median beat (band-passed, mV for voltage leads) in the result, e.g. for plots.
    public var keepMedianBeats = false
    /// Levels of the multi-lead QRS consensus (`Delineator.consensusQRS`) used as the centre that
    /// per-lead QRS boundaries are pulled toward (0 = the median of the leads' boundaries).
    public var consensusLevels: (onset: Double, offset: Double) = (0.2, 0.08)
    /// Shifts (ms) added to the consensus boundaries.
    public var consensusShift: (onset: Double, offset: Double) = (-18, 0)

    /// Pacemaker spike detection and removal before filtering (nil = off).
    public var pacing: PacingSpikeDetector? = PacingSpikeDetector()
    /// Beats whose QRS correlates less than this with the dominant median beat (over all usable
    /// leads) form their own morphology classes (ventricular ectopics, paced, fused or aberrant
    /// beats), each with its own median beats and delineation.
    public var morphologyCorrelation = 0.8
    /// Median beats are built from the dominant morphology's beats only (when at least three and a
    /// third of the typical beats are left).
    public var excludeOtherMorphologies = true
    /// At most this many non-dominant morphology classes per record.
    public var maximumMorphologyClasses = 4
    /// When a non-dominant morphology class holds more beats than the dominant one (at least
    /// three), its median beat becomes the dominant one: the median beat of a mixed rhythm (demand
    /// pacing with conducted beats, LUDB record 95: 4 paced, 5 conducted) is otherwise a blend of
    /// both morphologies that correlates with the beats of neither, and from one subset of leads to
    /// another the QRS measured on it ranged from the paced one's 160 ms to 214 ms, wider than any
    /// beat (now 76–86 ms from every subset, the conducted beats; the experts' 92 ms).
    public var mostFrequentMorphologyDominates = true
    /// Keep each lead's boundaries per beat (`LeadMeasurements.beatBoundaries`, and
    /// `RecordMeasurements.beatMorphology`), e.g. for validation against per-beat annotations.
    public var keepBeatBoundaries = false

    /// A pipeline with the default settings.
    public init() {}

    /// One lead after preprocessing.
    struct PreparedLead {
        var index: Int
        var signal: [Float]
        var millivoltsPerUnit: Float?
        var quality: LeadQuality
    }

    /// Records sampled below this rate are upsampled to `analysisRate` first (delineation needs
    /// a few samples per QRS slope); beats are reported at the record's own rate.
    public var minimumAnalysisRate = 250.0
    /// The rate low-rate records are analysed at.
    public var analysisRate = 500.0

    /// Measures `record`.
    public func measure(_ record: ECGRecord) -> RecordMeasurements {
        let fs = record.samplingRate
        if fs.isFinite, fs > 0, fs < minimumAnalysisRate {
            var upsampled = record
            upsampled.samplingRate = analysisRate
            for k in upsampled.leads.indices {
                let source = record.leads[k].samples
                var y = Resampler.resample(source, from: fs, to: analysisRate)
                // Keep invalid samples invalid, so that quality still sees them.
                if source.contains(where: { !$0.isFinite }) {
                    let ratio = fs / analysisRate
                    for i in y.indices where !source[min(source.count - 1, Int((Double(i) * ratio).rounded()))].isFinite { y[i] = .nan }
                }
                upsampled.leads[k].samples = y
            }
            var result = measureAtRate(upsampled)
            result.beats = result.beats.map { Int((Double($0) * fs / analysisRate).rounded()) }
            result.pacingSpikes = result.pacingSpikes?.map { Int((Double($0) * fs / analysisRate).rounded()) }
            return result
        }
        return measureAtRate(record)
    }

    /// The earliest QRS onset (ms from the fiducial point) of paced beats: the end of the span
    /// interpolated around the stimulus that precedes the fiducial point (within 200 ms) in at least
    /// half of `beats`, at the median distance. Nil without such a regular stimulus.
    func pacedQRSOnsetFloor(_ spikes: [Int], beats: [Int], sampleRate fs: Double) -> Double? {
        guard let pacing, !spikes.isEmpty, !beats.isEmpty else { return nil }
        let window = Int(0.2 * fs)
        var distances: [Double] = []
        var s = 0
        for b in beats {
            while s + 1 < spikes.count, spikes[s + 1] <= b { s += 1 }
            if spikes[s] <= b, b - spikes[s] <= window { distances.append(Double(b - spikes[s])) }
        }
        guard distances.count * 2 >= beats.count else { return nil }
        return -Self.median(distances) * 1000 / fs + pacing.halfWidth
    }

    /// Measures `record` at its own rate. `knownStimuli`: every pacing stimulus of the record, found
    /// by a first pass (`PacingSpikeDetector.detect` plus those confirmed by their coupling to the QRS
    /// complexes, `detectCoupled`) and removed without detecting again; nil = detect them, look for
    /// coupled ones after QRS detection, and measure again with those removed too if there are any.
    /// `beats` without those that a pacing stimulus follows within `refractory` s and that
    /// stimulus captures (the next beat follows it within `capture` s): the ventricles were not
    /// refractory, so the detection was no ventricular depolarisation but, say, an atrial stimulus
    /// and its P wave (LUDB record 45, limb leads, once its ventricular stimuli are removed).
    static func beatsNotFollowedByCapture(_ beats: [Int], spikes: [Int], refractory: Double, capture: Double, sampleRate fs: Double) -> [Int] {
        guard !spikes.isEmpty, beats.count >= 2 else { return beats }
        let r = Int(refractory * fs), c = Int(capture * fs)
        var kept: [Int] = []
        var s = 0
        for (k, b) in beats.enumerated() {
            while s < spikes.count, spikes[s] <= b { s += 1 }
            if s < spikes.count, spikes[s] - b < r, k + 1 < beats.count, beats[k + 1] > spikes[s], beats[k + 1] - spikes[s] <= c { continue }
            kept.append(b)
        }
        return kept
    }

    func measureAtRate(_ record: ECGRecord, knownStimuli: [Int]? = nil) -> RecordMeasurements {
        var result = RecordMeasurements(record: record.id)
        let fs = record.samplingRate
        guard fs.isFinite, fs > 0 else {
            result.leads = record.leads.map {
                LeadMeasurements(lead: $0.lead, quality: 0, status: .notAnalysable, reasons: ["invalid sampling rate (\(fs) Hz)"])
            }
            return result
        }
        // 1. Preprocessing (leads filtered together, four per SIMD pass) and quality.
        let minimumSamples = quality.minimumDuration * fs - 0.5
        let longEnough = record.leads.indices.filter { Double(record.leads[$0].samples.count) >= minimumSamples }
        // Pacemaker spikes out first (they are not QRS and the low-pass would smear them).
        var rawByLead: [Int: [Float]] = [:]
        for index in longEnough { rawByLead[index] = record.leads[index].samples }
        if let pacing {
            let spikes = knownStimuli ?? pacing.detect(longEnough.map { record.leads[$0].samples }, scales: longEnough.map { record.leads[$0].millivoltsPerUnit }, sampleRate: fs)
            if !spikes.isEmpty {
                result.pacingSpikes = spikes
                for index in longEnough { rawByLead[index] = pacing.remove(spikes, from: record.leads[index].samples, sampleRate: fs) }
            }
        }
        let highpassed = Filters.filtfilt(
            many: longEnough.map { rawByLead[$0] ?? [] }, sections: Filters.highpassSections(cutoff: 0.5, sampleRate: fs), sampleRate: fs)
        let lowpassed = Filters.filtfilt(
            many: highpassed, sections: Filters.lowpassSections(cutoff: min(40, 0.45 * fs), sampleRate: fs), sampleRate: fs)
        // The quality's noise energies of all leads at once (SIMD lanes across leads, same sums).
        let noise = fs > 100 ? SignalQualityAssessor.noiseEnergy(highpassed: highpassed, filtered: lowpassed) : []
        var filteredByLead: [Int: ([Float], [Float], (hf: Double, signal: Double)?)] = [:]
        for (k, index) in longEnough.enumerated() { filteredByLead[index] = (highpassed[k], lowpassed[k], k < noise.count ? noise[k] : nil) }
        var prepared: [PreparedLead] = []
        for (index, lead) in record.leads.enumerated() {
            let raw = rawByLead[index] ?? lead.samples
            let duration = Double(raw.count) / fs
            var q: LeadQuality
            var filtered: [Float] = []
            if let (hp, lp, energy) = filteredByLead[index] {
                filtered = lp
                q = quality.assess(raw: raw, highpassed: hp, filtered: filtered, sampleRate: fs, millivoltsPerUnit: lead.millivoltsPerUnit, noiseEnergy: energy)
                if let scale = lead.millivoltsPerUnit, scale != 1 {
                    for k in 0..<filtered.count { filtered[k] *= scale }
                }
            } else {
                q = LeadQuality(score: 0, status: .notAnalysable, reasons: [String(format: "too short (%.2f s, at least %.1f s needed)", duration, quality.minimumDuration)])
            }
            prepared.append(PreparedLead(index: index, signal: filtered, millivoltsPerUnit: lead.millivoltsPerUnit, quality: q))
        }
        result.leads = prepared.map { p in
            LeadMeasurements(lead: record.leads[p.index].lead, quality: p.quality.score, status: p.quality.status, reasons: p.quality.reasons)
        }
        let usable = prepared.filter { $0.quality.status == .ok }
        guard !usable.isEmpty else { return result }
        // 2. QRS detection fused over the usable leads; rhythm.
        var beats = detector.detect(usable.map(\.signal), sampleRate: fs)
        if let pacing, knownStimuli == nil, let known = result.pacingSpikes, !known.isEmpty {
            // A record shown to be paced (stimuli found by their shape or coincidence across leads):
            // the stimuli those rules missed in other beats, confirmed by their coupling to the
            // beats just detected, and the record measured again with them removed too (only such
            // records pay for a second pass).
            let reach = Int((pacing.returnDistance * fs).rounded())
            let coupled = pacing.detectCoupled(
                longEnough.map { record.leads[$0].samples }, scales: longEnough.map { record.leads[$0].millivoltsPerUnit }, beats: beats, sampleRate: fs
            ).filter { s in !known.contains { abs($0 - s) <= reach } }
            if !coupled.isEmpty { return measureAtRate(record, knownStimuli: (known + coupled).sorted()) }
        }
        if let spikes = result.pacingSpikes, let pacing {
            beats = Self.beatsNotFollowedByCapture(beats, spikes: spikes, refractory: detector.refractoryPeriod, capture: pacing.coupledEarliest, sampleRate: fs)
        }
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
        var templateBeats = selectTemplateBeats(beats, medianRR: medianRR)
        var templates: [Int: [Float]] = [:]
        if alignmentReach > 0 {
            // Align every beat on the median beats' QRS (least squares over all usable leads), then
            // build the median beats from the aligned beats. Only the QRS part is needed to align.
            var beatsAligned = beats
            let reach = Int((usable.count < 3 ? fewLeadsAlignmentReach ?? alignmentReach : alignmentReach) * fs), half = Int(0.06 * fs)
            for p in usable {
                templates[p.index] = Self.medianBeat(p.signal, beats: templateBeats, before: before, after: after, only: (before - half)...(before + half))
            }
            let pairs = usable.compactMap { p in templates[p.index].map { (p.signal, $0) } }
            for (k, b) in beats.enumerated() {
                beatsAligned[k] = b + Self.bestShift(pairs, beat: b, center: before, half: half, reach: reach)
            }
            beats = beatsAligned
            result.beats = beats
            templateBeats = selectTemplateBeats(beats, medianRR: medianRR)
        }
        for p in usable { templates[p.index] = Self.medianBeat(p.signal, beats: templateBeats, before: before, after: after) }
        // Beats of another morphology (ectopic, paced, fused) leave the dominant median beats.
        var classes = morphologyClasses(beats, usable: usable, templates: templates, fiducial: before, sampleRate: fs)
        // A mixed rhythm (e.g. demand pacing with conducted beats) whose median beat, built from
        // beats of two morphologies, resembles the beats of neither: the most frequent class becomes
        // the dominant morphology and the classes are formed anew around it (a few rounds, since the
        // new classes can again leave the dominant one smaller than another).
        for _ in 0..<(mostFrequentMorphologyDominates ? 3 : 0) {
            let sizes = Dictionary(classes.map { ($0, 1) }, uniquingKeysWith: +)
            guard let (largest, size) = sizes.filter({ $0.key > 0 }).max(by: { ($0.value, -$0.key) < ($1.value, -$1.key) }),
                size > sizes[0, default: 0], size >= 3
            else { break }
            templateBeats = evenlyThinned(beats.indices.filter { classes[$0] == largest }.map { beats[$0] })
            for p in usable { templates[p.index] = Self.medianBeat(p.signal, beats: templateBeats, before: before, after: after) }
            classes = morphologyClasses(beats, usable: usable, templates: templates, fiducial: before, sampleRate: fs)
        }
        if excludeOtherMorphologies {
            let dominantBeats = Set(beats.indices.filter { classes[$0] == 0 }.map { beats[$0] })
            let kept = templateBeats.filter(dominantBeats.contains)
            if kept.count < templateBeats.count, kept.count >= 3, kept.count * 3 >= templateBeats.count {
                for p in usable { templates[p.index] = Self.medianBeat(p.signal, beats: kept, before: before, after: after) }
            }
        }
        var delineations: [Int: TemplateDelineation] = [:]
        for p in usable {
            guard let template = templates[p.index] else { continue }
            delineations[p.index] = delineator.delineate(template, fiducial: before, sampleRate: fs, rr: medianRR)
        }
        func toMs(_ k: Int?) -> Double? { k.map { Double($0 - before) * 1000 / fs } }
        // Paced rhythm: the ventricular deflection starts after the stimulus, so no QRS onset lies
        // before the end of the interpolated spike span.
        let pacedFloor = pacedQRSOnsetFloor(result.pacingSpikes ?? [], beats: beats.indices.filter { classes[$0] == 0 }.map { beats[$0] }, sampleRate: fs)
        if keepMedianBeats { result.medianBeatFiducial = before }
        for p in usable {
            guard let d = delineations[p.index], let x = templates[p.index] else { continue }
            if keepMedianBeats { result.leads[p.index].medianBeat = x }
            result.leads[p.index].boundaries = WaveBoundaries(
                pOnset: toMs(d.pOnset), pPeak: toMs(d.pPeak), pOffset: toMs(d.pOffset), qrsOnset: toMs(d.qrsOnset).map { max($0, pacedFloor ?? -.infinity) },
                qrsOffset: toMs(d.qrsOffset), tPeak: toMs(d.tPeak), tOffset: toMs(d.tOffset))
            if p.millivoltsPerUnit != nil {
                applyAmplitudes(&result.leads[p.index], template: x, delineation: d, sampleRate: fs)
            }
        }
        // 4. Per-lead boundaries pulled toward the multi-lead consensus; global boundaries, intervals.
        let own = Dictionary(uniqueKeysWithValues: usable.compactMap { p in result.leads[p.index].boundaries.map { (p.index, $0) } })
        let all = usable.compactMap { result.leads[$0.index].boundaries }
        let lowT = lowTWaveLeads(usable, delineations: delineations)
        for (index, var b) in consensusBoundaries(own, templates: templates, leads: usable.map(\.index), fiducial: before, sampleRate: fs, lowT: lowT) {
            if let floor = pacedFloor, let on = b.qrsOnset { b.qrsOnset = max(on, floor) }
            result.leads[index].boundaries = b
        }
        // Beats of another morphology: their own median beats and boundaries.
        if keepBeatBoundaries {
            result.beatMorphology = classes
            var perClass: [Int: [Int: WaveBoundaries]] = [:]
            // Per class: each lead's median beat and delineation, and the leads with a low T wave.
            var classBeats: [Int: (templates: [Int: [Float]], delineations: [Int: TemplateDelineation], lowT: [Int: (baseline: Float, qrsOffset: Int)])] = [
                0: (templates, delineations, lowT)
            ]
            for c in Set(classes) where c > 0 {
                let memberIndices = beats.indices.filter { classes[$0] == c }
                let members = memberIndices.map { beats[$0] }
                // The T wave ends before the next beat: an early beat's T search is bounded by the
                // interval to the beat after it, not by the dominant rhythm's RR.
                let following = memberIndices.compactMap { k in k + 1 < beats.count ? Double(beats[k + 1] - beats[k]) : nil }
                let classRR = following.isEmpty ? medianRR : min(medianRR, Int(Self.median(following)))
                var classOwn: [Int: WaveBoundaries] = [:]
                var classTemplates: [Int: [Float]] = [:]
                var classDelineations: [Int: TemplateDelineation] = [:]
                for p in usable {
                    let x = Self.medianBeat(p.signal, beats: members, before: before, after: after)
                    classTemplates[p.index] = x
                    let d = delineator.delineate(x, fiducial: before, sampleRate: fs, rr: classRR)
                    classOwn[p.index] = WaveBoundaries(
                        pOnset: toMs(d.pOnset), pPeak: toMs(d.pPeak), pOffset: toMs(d.pOffset), qrsOnset: toMs(d.qrsOnset),
                        qrsOffset: toMs(d.qrsOffset), tPeak: toMs(d.tPeak), tOffset: toMs(d.tOffset))
                    classDelineations[p.index] = d
                }
                let classLowT = lowTWaveLeads(usable, delineations: classDelineations)
                perClass[c] = consensusBoundaries(
                    classOwn, templates: classTemplates, leads: usable.map(\.index), fiducial: before, sampleRate: fs, lowT: classLowT)
                classBeats[c] = (classTemplates, classDelineations, classLowT)
            }
            for p in usable {
                let dominant = result.leads[p.index].boundaries ?? WaveBoundaries()
                var perBeat = classes.map { c in c == 0 ? dominant : perClass[c]?[p.index] ?? WaveBoundaries() }
                for (c, info) in classBeats where info.lowT[p.index] == nil {
                    guard let d = info.delineations[p.index], let x = info.templates[p.index] else { continue }
                    refineBeatTOffsets(&perBeat, signal: p.signal, beats: beats, classes: classes, of: c, template: x, delineation: d, sampleRate: fs)
                }
                result.leads[p.index].beatBoundaries = perBeat
            }
        }
        var global = WaveBoundaries()
        global.qrsOnset = Self.quantile(all.compactMap(\.qrsOnset), globalQRSQuantile)
        global.qrsOffset = Self.quantile(all.compactMap(\.qrsOffset), 1 - globalQRSQuantile)
        if let off = twoLeadQRSOffset(usable, boundaries: result.leads, templates: templates, fiducial: before, sampleRate: fs) { global.qrsOffset = off }
        let pOnsets = all.compactMap(\.pOnset)
        if pOnsets.count * 2 >= all.count, !pOnsets.isEmpty {
            global.pOnset = Self.robustLow(pOnsets)
            global.pOffset = Self.robustHigh(all.compactMap(\.pOffset))
        }
        let tOffsets = all.compactMap(\.tOffset)
        if tOffsets.count * 2 >= all.count { global.tOffset = Self.robustHigh(tOffsets) }
        result.boundaries = global
        // Intervals outside physiological ranges are delineation failures (or not an ECG): left out.
        if let on = global.qrsOnset, let off = global.qrsOffset, off - on >= 30, off - on <= 280 { result.qrsDuration = off - on }
        if let p = global.pOnset, let q = global.qrsOnset, q - p >= 50, q - p <= 450 { result.prInterval = q - p }
        if let t = global.tOffset, let q = global.qrsOnset, t - q >= 150, t - q <= 750 {
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
        func axis(from a: Int?, to b: Int?, netAmplitude: Bool = false) -> Double? {
            guard let a, let b, b > a, limb.count >= 2 else { return nil }
            var projections: [(Double, Double)] = []
            for l in limb {
                let lo = max(0, a), hi = min(l.template.count - 1, b)
                guard hi > lo else { return nil }
                var area: Double = 0
                var top = -Float.infinity, bottom = Float.infinity
                for k in lo...hi {
                    let v = l.template[k] - l.base
                    area += Double(v)
                    top = max(top, v)
                    bottom = min(bottom, v)
                }
                // QRS: net amplitude (R + S, the usual clinical reading); P and T: area.
                projections.append((l.angle, netAmplitude ? Double(top + bottom) : area))
            }
            return Self.frontalAxis(projections)
        }
        result.qrsAxis = axis(from: index(global.qrsOnset), to: index(global.qrsOffset), netAmplitude: true)
        result.pAxis = axis(from: index(global.pOnset), to: index(global.pOffset))
        result.tAxis = axis(from: index(global.qrsOffset), to: index(global.tOffset))
        return result
    }

    /// Each lead's boundaries pulled toward the multi-lead consensus (the slope consensus for the
    /// QRS, the median over the leads otherwise); leads without a boundary that most leads show
    /// take the consensus. Unchanged with fewer than three leads.
    /// Each beat of the given morphology class has its T offset moved toward its own area-indicator end within
    /// ± `beatTOffsetReach` ms of the median beat's (same T polarity and window), by `beatTOffsetWeight`.
    func refineBeatTOffsets(
        _ perBeat: inout [WaveBoundaries], signal: [Float], beats: [Int], classes: [Int], of morphology: Int, template x: [Float], delineation d: TemplateDelineation,
        sampleRate fs: Double
    ) {
        guard beatTOffsetWeight > 0, beatTOffsetReach > 0, let peak = d.tPeak, peak < x.count else { return }
        let sign: Float = x[peak] >= d.baseline ? 1 : -1
        let reach = Int((beatTOffsetReach * fs / 1000).rounded()), window = max(2, Int((delineator.tWindow * fs / 1000).rounded()))
        for k in beats.indices where classes[k] == morphology && k < perBeat.count {
            guard let t = perBeat[k].tOffset else { continue }
            let end = beats[k] + Int((t * fs / 1000).rounded())
            let start = end - reach - window
            guard start >= 0, end + reach < signal.count else { continue }
            let part = Array(signal[start...(end + reach)])
            guard let o = Delineator.areaArgmax(part, from: window, to: part.count - 1, window: window, forward: false, sign: sign) else { continue }
            let own = Double(start + o - beats[k]) * 1000 / fs
            perBeat[k].tOffset = t + beatTOffsetWeight * (own - t)
        }
    }

    /// The voltage leads with a low or flat T wave (`lowTWave`), with their isoelectric level and
    /// QRS offset (template index).
    func lowTWaveLeads(_ usable: [PreparedLead], delineations: [Int: TemplateDelineation]) -> [Int: (baseline: Float, qrsOffset: Int)] {
        guard lowTWave > 0 else { return [:] }
        var out: [Int: (baseline: Float, qrsOffset: Int)] = [:]
        for p in usable where p.millivoltsPerUnit != nil {
            guard let d = delineations[p.index], let off = d.qrsOffset, let size = d.tWaveSize, Double(size) < lowTWave else { continue }
            out[p.index] = (d.baseline, off)
        }
        return out
    }

    /// The global QRS offset (ms) of a two-lead record whose later-ending lead has an ill-defined
    /// end (see `twoLeadOffsetSlope`): the other lead's offset; nil otherwise.
    func twoLeadQRSOffset(_ usable: [PreparedLead], boundaries leads: [LeadMeasurements], templates: [Int: [Float]], fiducial before: Int, sampleRate fs: Double) -> Double? {
        guard twoLeadOffsetSlope > 0, usable.count == 2 else { return nil }
        var ends: [(offset: Double, slope: Double)] = []
        for p in usable {
            guard let off = leads[p.index].boundaries?.qrsOffset, let x = templates[p.index] else { return nil }
            let k = before + Int((off * fs / 1000).rounded())
            guard let slope = delineator.slopeAfter(x, at: k, fiducial: before, window: 20, sampleRate: fs) else { return nil }
            ends.append((off, slope))
        }
        ends.sort { $0.offset < $1.offset }
        let earlier = ends[0], later = ends[1]
        guard later.offset > earlier.offset, later.slope >= twoLeadOffsetSlope, later.slope >= twoLeadOffsetRatio * earlier.slope else { return nil }
        return earlier.offset
    }

    func consensusBoundaries(
        _ own: [Int: WaveBoundaries], templates: [Int: [Float]], leads: [Int], fiducial before: Int, sampleRate fs: Double,
        lowT: [Int: (baseline: Float, qrsOffset: Int)] = [:]
    ) -> [Int: WaveBoundaries] {
        var out = own
        guard leadBoundaryWeight < 1, leads.count >= 3 else { return out }
        var slopeConsensus: (onset: Double, offset: Double)?
        if consensusLevels.onset > 0,
            let q = delineator.consensusQRS(leads.compactMap { templates[$0] }, fiducial: before, sampleRate: fs, onsetLevel: consensusLevels.onset, offsetLevel: consensusLevels.offset)
        {
            slopeConsensus = (Double(q.onset - before) * 1000 / fs + consensusShift.onset, Double(q.offset - before) * 1000 / fs + consensusShift.offset)
        }
        let keys: [WritableKeyPath<WaveBoundaries, Double?>] = [\.pOnset, \.pOffset, \.qrsOnset, \.qrsOffset, \.tOffset]
        for key in keys {
            let values = leads.compactMap { own[$0]?[keyPath: key] }
            guard values.count >= 3 else { continue }
            var center = Self.median(values)
            if let qrs = slopeConsensus, key == \WaveBoundaries.qrsOnset { center = qrs.onset }
            if let qrs = slopeConsensus, key == \WaveBoundaries.qrsOffset { center = qrs.offset }
            let consensus = values.count * 2 >= leads.count
            for index in leads where out[index] != nil {
                if key == \WaveBoundaries.tOffset, let low = lowT[index], let x = templates[index] {
                    // A low T wave: its end searched near the centre, half-way between the two.
                    let c = before + Int((center * fs / 1000).rounded())
                    if let k = delineator.lowTWaveOffset(x, center: c, qrsOffset: low.qrsOffset, baseline: low.baseline, reach: lowTWaveReach, sampleRate: fs) {
                        out[index]?.tOffset = center + lowTWaveWeight * (Double(k - before) * 1000 / fs - center)
                        continue
                    }
                }
                if let value = own[index]?[keyPath: key] {
                    if let limit = deviationLimits[keyPath: key] {
                        // Within the limit the lead's own boundary stands; beyond it, no further.
                        out[index]?[keyPath: key] = center + min(limit, max(-limit, value - center))
                    } else {
                        out[index]?[keyPath: key] = center + leadBoundaryWeight * (value - center)
                    }
                } else if consensus {
                    // Most leads show this wave: a lead where it is too small to delineate takes the consensus.
                    out[index]?[keyPath: key] = center
                }
            }
        }
        return out
    }

    /// The morphology class of every beat: 0 = the dominant one (the median beats), 1, 2 … = beats
    /// whose QRS region (−80…+120 ms, all usable leads) correlates less than
    /// `morphologyCorrelation` with it, grouped greedily by their correlation with each class's first beat.
    func morphologyClasses(_ beats: [Int], usable: [PreparedLead], templates: [Int: [Float]], fiducial before: Int, sampleRate fs: Double) -> [Int] {
        let lo = before - Int(0.08 * fs), hi = before + Int(0.12 * fs)
        let length = hi - lo + 1
        func segment(_ b: Int) -> [Float]? {
            var out: [Float] = []
            out.reserveCapacity(length * usable.count)
            for p in usable {
                let start = b - before + lo
                guard start >= 0, start + length <= p.signal.count else { return nil }
                let part = p.signal[start..<(start + length)]
                let mean = part.reduce(0, +) / Float(length)
                for v in part { out.append(v - mean) }
            }
            return out
        }
        func correlation(_ a: [Float], _ b: [Float]) -> Double {
            var ab: Float = 0, aa: Float = 0, bb: Float = 0
            for k in a.indices {
                ab += a[k] * b[k]
                aa += a[k] * a[k]
                bb += b[k] * b[k]
            }
            return aa > 0 && bb > 0 ? Double(ab / (aa * bb).squareRoot()) : 0
        }
        var dominant: [Float] = []
        for p in usable {
            guard let t = templates[p.index] else { return beats.map { _ in 0 } }
            let part = t[lo...hi]
            let mean = part.reduce(0, +) / Float(length)
            for v in part { dominant.append(v - mean) }
        }
        var representatives: [[Float]] = []
        return beats.map { b in
            guard let x = segment(b), correlation(x, dominant) < morphologyCorrelation else { return 0 }
            for (c, r) in representatives.enumerated() where correlation(x, r) >= morphologyCorrelation { return c + 1 }
            guard representatives.count < maximumMorphologyClasses else { return 0 }
            representatives.append(x)
            return representatives.count
        }
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
        return evenlyThinned(typical)
    }

    /// At most `maximumTemplateBeats` of `beats`, evenly spread over them.
    func evenlyThinned(_ beats: [Int]) -> [Int] {
        if beats.count <= maximumTemplateBeats { return beats }
        let step = Double(beats.count) / Double(maximumTemplateBeats)
        return (0..<maximumTemplateBeats).map { beats[Int(Double($0) * step)] }
    }

    /// The sample-wise trimmed mean (without the extremes) of the windows [b − before, b + after] around `beats` (positions that
    /// no beat covers take the nearest covered value).
    static func medianBeat(_ x: [Float], beats: [Int], before: Int, after: Int, only window: ClosedRange<Int>? = nil) -> [Float] {
        let length = before + after + 1
        var template = [Float](repeating: .nan, count: length)
        let positions = window.map { max(0, $0.lowerBound)...min(length - 1, $0.upperBound) } ?? 0...(length - 1)
        // Trimmed mean: the mean without the smallest and largest value (robust to one odd beat, less
        // noisy than the median, and linear time). Accumulated beat by beat over the positions (each
        // position sums its beats in beat order, as one position at a time would), so the inner loop
        // runs along the signal in SIMD lanes.
        let p0 = positions.lowerBound, width = positions.count
        var sum = [Float](repeating: 0, count: width)
        var lo = [Float](repeating: .infinity, count: width)
        var hi = [Float](repeating: -.infinity, count: width)
        var coverageSteps = [Int](repeating: 0, count: width + 1)  // +1 where a beat's span starts, −1 after it ends
        x.withUnsafeBufferPointer { s in
            sum.withUnsafeMutableBufferPointer { sum in
                lo.withUnsafeMutableBufferPointer { lo in
                    hi.withUnsafeMutableBufferPointer { hi in
                        coverageSteps.withUnsafeMutableBufferPointer { steps in
                            guard let xs = s.baseAddress, let sp = sum.baseAddress, let lp = lo.baseAddress, let hp = hi.baseAddress else { return }
                            for b in beats {
                                // Positions j (relative to p0) whose sample b − before + p0 + j lies in x.
                                let offset = b - before + p0
                                let j0 = max(0, -offset), j1 = min(width, s.count - offset)
                                guard j0 < j1 else { continue }
                                steps[j0] += 1
                                steps[j1] -= 1
                                var j = j0
                                while j + 8 <= j1 {
                                    let v = UnsafeRawPointer(xs + (offset + j)).loadUnaligned(as: SIMD8<Float>.self)
                                    let rs = UnsafeMutableRawPointer(sp + j), rl = UnsafeMutableRawPointer(lp + j), rh = UnsafeMutableRawPointer(hp + j)
                                    rs.storeBytes(of: rs.loadUnaligned(as: SIMD8<Float>.self) + v, as: SIMD8<Float>.self)
                                    // min(lo, v) = v < lo ? v : lo and max(hi, v) = v >= hi ? v : hi, as Swift's min and max.
                                    var l = rl.loadUnaligned(as: SIMD8<Float>.self)
                                    l.replace(with: v, where: v .< l)
                                    rl.storeBytes(of: l, as: SIMD8<Float>.self)
                                    var h = rh.loadUnaligned(as: SIMD8<Float>.self)
                                    h.replace(with: v, where: v .>= h)
                                    rh.storeBytes(of: h, as: SIMD8<Float>.self)
                                    j += 8
                                }
                                while j < j1 {
                                    let value = xs[offset + j]
                                    sp[j] += value
                                    lp[j] = min(lp[j], value)
                                    hp[j] = max(hp[j], value)
                                    j += 1
                                }
                            }
                        }
                    }
                }
            }
        }
        var m = 0
        for j in 0..<width {
            m += coverageSteps[j]
            if m >= 3 {
                template[p0 + j] = (sum[j] - lo[j] - hi[j]) / Float(m - 2)
            } else if m > 0 {
                template[p0 + j] = sum[j] / Float(m)
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

    /// The shift in [−reach, reach] that best aligns the beat at `beat` with the templates over
    /// ±`half` samples around the template index `center` (least squares, summed over leads).
    static func bestShift(_ pairs: [([Float], [Float])], beat: Int, center: Int, half: Int, reach: Int) -> Int {
        // The shifts whose window lies inside every signal (the others are skipped); none when a
        // template is too short.
        var first = -reach, last = reach
        for (signal, template) in pairs {
            guard center - half >= 0, center + half < template.count else { return 0 }
            first = max(first, half - beat)
            last = min(last, signal.count - 1 - beat - half)
        }
        guard first <= last else { return 0 }
        // cost(shift) = Σ over leads, then over the window, of (signal − template)², summed in that
        // order; eight shifts at a time in SIMD lanes (each lane in the same order).
        var costs = [Float](repeating: 0, count: last - first + 1)
        let width = 2 * half + 1, offsetT = center - half
        var shift = first
        while shift <= last {
            let lanes = min(8, last - shift + 1)
            if lanes == 8 {
                var cost = SIMD8<Float>()
                for (signal, template) in pairs {
                    signal.withUnsafeBufferPointer { s in
                        template.withUnsafeBufferPointer { t in
                            guard let sb = s.baseAddress else { return }
                            let start = UnsafeRawPointer(sb + (beat + shift - half))
                            for j in 0..<width {
                                let d = start.loadUnaligned(fromByteOffset: 4 * j, as: SIMD8<Float>.self) - SIMD8(repeating: t[offsetT + j])
                                cost += d * d
                            }
                        }
                    }
                }
                for l in 0..<8 { costs[shift - first + l] = cost[l] }
            } else {
                for l in 0..<lanes {
                    var cost: Float = 0
                    for (signal, template) in pairs {
                        signal.withUnsafeBufferPointer { s in
                            template.withUnsafeBufferPointer { t in
                                let start = beat + shift + l - half
                                for j in 0..<width {
                                    let d = s[start + j] - t[offsetT + j]
                                    cost += d * d
                                }
                            }
                        }
                    }
                    costs[shift - first + l] = cost
                }
            }
            shift += lanes
        }
        var best = 0
        var bestCost = Float.infinity
        for (k, cost) in costs.enumerated() where cost < bestCost {
            bestCost = cost
            best = first + k
        }
        return best
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

    /// The `q` quantile of `values` (nearest rank, rounded toward the extreme), nil when empty.
    static func quantile(_ values: [Double], _ q: Double) -> Double? {
        guard !values.isEmpty else { return nil }
        let s = values.sorted()
        let position = q * Double(s.count - 1)
        return s[Int(q < 0.5 ? position.rounded(.down) : position.rounded(.up))]
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
