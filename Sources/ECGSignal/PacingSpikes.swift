import Foundation

/// Pacemaker stimuli: spikes a few milliseconds wide that appear in most leads at the same instant.
/// They are not part of the QRS complex (experts mark the QRS onset at the paced ventricular
/// deflection), but the 40 Hz low-pass would smear them into a slow slope that delineation takes
/// for QRS. They are found and interpolated out of the raw signal before filtering.
public struct PacingSpikeDetector: Sendable {
    /// Minimum spike height, mV, above the signal `returnDistance` to either side.
    public var minimumHeight: Float = 0.1
    /// The signal `returnDistance` from the spike must be back within this fraction of the height at `wideDistance`
    /// (a spike returns at once; a QRS peak keeps falling).
    public var returnFraction: Float = 0.8
    /// Leads that must show the spike together (within ±1 sample), but never more than all the
    /// record's voltage leads but one (and at least three): a stimulus whose vector is perpendicular
    /// to one lead does not show there, and the six limb leads, derived from two, would all show it
    /// only if neither lead I nor lead II missed it.
    public var minimumLeads = 6
    /// At least this many spikes in the record (a single coincidence is more likely an artefact).
    public var minimumSpikes = 2
    /// Distance (s) from the spike at which the signal must have returned.
    public var returnDistance = 0.008
    /// The wider distance (s) whose excursion the return is compared with.
    public var wideDistance = 0.016
    /// Half-width (ms) of the interpolated span around each spike.
    public var halfWidth = 10.0

    /// With fewer than three voltage leads there is no coincidence across leads to tell a stimulus
    /// from a sharp QRS or an artefact, so a spike must be recognisable by its shape alone in one
    /// lead: at least `singleLeadHeight` mV above the samples `singleLeadStep` s to either side (a
    /// rise and fall within a few milliseconds, steeper than any QRS slope: 0.125 mV/ms), back within
    /// `returnFraction` at `returnDistance`, and at least `singleLeadMinimumSpikes` of them. Needs a
    /// sampling rate of at least `singleLeadMinimumRate` Hz (slower sampling smears the spike).
    /// On LUDB 1–100, no non-paced record reaches this in lead I or II (the highest, 0.16 mV
    /// at the fourth-highest spike), while the stimuli of bipolar pacing are often smaller than that
    /// in the limb leads and then go unrecognised (they are also too small to disturb the QRS).
    public var singleLeadHeight: Float = 0.25
    /// The distance (s) over which the single-lead spike must rise and fall.
    public var singleLeadStep = 0.004
    /// At least this many spikes in the record when they are recognised in one or two leads.
    public var singleLeadMinimumSpikes = 4
    /// The lowest sampling rate (Hz) at which spikes are looked for in one or two leads.
    public var singleLeadMinimumRate = 500.0

    /// Stimuli confirmed by their coupling to the QRS complexes (`detectCoupled`): a paced QRS
    /// follows its stimulus after a nearly fixed interval in every paced beat, an artefact or a
    /// sharp wave of an unpaced QRS does not. The stimulus shape looked for is that of a unipolar
    /// stimulus after the recorder's high-pass: a jump of at least `coupledHeight` mV from one sample
    /// to the next out of a flat stretch (the steps over the `coupledFlatDuration` s before it at most
    /// `coupledFlatRatio` of the jump), whose next step already turns back by at least
    /// `coupledReturnRatio` of it and which goes no further in its direction (no later step within
    /// `returnDistance` s above a quarter of the jump): it decays back, often slowly and into the
    /// QRS, so that `returnFraction` rejects it. On LUDB 1–100, from lead II alone, I+II, the limb
    /// leads or all twelve, no unpaced record gets coupled stimuli.
    public var coupledHeight: Float = 0.1
    /// How long (s) the signal is flat before the jump.
    public var coupledFlatDuration = 0.01
    /// The largest step before the jump, as a fraction of it.
    public var coupledFlatRatio: Float = 0.1
    /// The step after the jump turns back by at least this fraction of it.
    public var coupledReturnRatio: Float = 0.15
    /// The stimulus precedes the beat's fiducial point by at most this many seconds.
    public var coupledEarliest = 0.3
    /// The interval that confirms the coupling puts the stimulus at least this many seconds before
    /// the fiducial point (a stimulus precedes its QRS; a sample-and-hold step inside the QRS of
    /// every beat lies at its steepest point, where the fiducial point is: LUDB record 43, V1–V3).
    public var coupledLatest = 0.01
    /// Once the coupling is confirmed, a stimulus may lie up to this many seconds after a beat's
    /// fiducial point (which lands on the stimulus itself where a lead shows it large).
    public var coupledOverlap = 0.004
    /// The intervals that confirm the coupling lie within ± this many seconds of the most common
    /// one (the detector's fiducial point moves within a broad paced QRS from beat to beat: LUDB
    /// record 45, I+II, 58–72 ms after the stimulus).
    public var coupledTolerance = 0.04
    /// Once confirmed, an edge is taken as the stimulus of any beat whose interval to it lies
    /// within ± this many seconds of the common one (the fiducial point of some beats lands on the
    /// stimulus itself: LUDB record 45, I+II, its last three beats).
    public var coupledReach = 0.08
    /// At least this many beats must be preceded by a coupled stimulus.
    public var coupledMinimumBeats = 4
    /// And at least this fraction of the beats.
    public var coupledMinimumFraction = 0.5

    /// A detector with the default settings.
    public init() {}

    /// Whether `x` jumps from sample `k − 1` to `k` in the shape of a decaying stimulus (`coupledHeight`).
    @inline(__always)
    func isStimulusEdge(_ x: UnsafeBufferPointer<Float>, _ k: Int, flat: Int, after: Int, threshold: Float) -> Bool {
        let jump = x[k] - x[k - 1]
        guard abs(jump) >= threshold, jump.isFinite else { return false }
        let size = abs(jump), sign: Float = jump > 0 ? 1 : -1
        for j in (k - flat)..<(k - 1) where !(abs(x[j + 1] - x[j]) <= coupledFlatRatio * size) { return false }
        guard sign * (x[k + 1] - x[k]) <= -coupledReturnRatio * size else { return false }
        for j in (k + 1)..<(k + after) where sign * (x[j + 1] - x[j]) > 0.25 * size { return false }
        return true
    }

    /// Stimuli that `detect` does not find, recognised by their shape (`coupledHeight`) in any voltage
    /// lead and confirmed by their regular coupling to `beats` (the detected QRS complexes, samples):
    /// the interval `coupledLatest`…`coupledEarliest` s before a beat that most beats share
    /// (± `coupledTolerance`) confirms the coupling when at least `coupledMinimumBeats` and
    /// `coupledMinimumFraction` of the beats share it; then every beat's edge nearest that interval
    /// (within ± `coupledReach`, up to `coupledOverlap` s after the beat) is a stimulus. Needs at
    /// least `singleLeadMinimumRate` Hz. Sorted sample indices, empty when there is no such coupling.
    public func detectCoupled(_ leads: [[Float]], scales: [Float?], beats: [Int], sampleRate fs: Double) -> [Int] {
        guard fs >= singleLeadMinimumRate * 0.999, beats.count >= coupledMinimumBeats else { return [] }
        let flat = max(2, Int((coupledFlatDuration * fs).rounded())), after = max(2, Int((returnDistance * fs).rounded()))
        var edges: [Int] = []
        for (j, x) in leads.enumerated() {
            guard let scale = scales[j], x.count > flat + after + 2 else { continue }
            let threshold = coupledHeight / scale
            x.withUnsafeBufferPointer { x in
                var k = flat
                let end = x.count - after - 1
                // Quick rejection eight steps at a time: most steps are far below the jump.
                while k < end {
                    if k + 8 <= end, let base = x.baseAddress {
                        let raw = UnsafeRawPointer(base)
                        let step = raw.loadUnaligned(fromByteOffset: 4 * k, as: SIMD8<Float>.self) - raw.loadUnaligned(fromByteOffset: 4 * (k - 1), as: SIMD8<Float>.self)
                        let t = SIMD8<Float>(repeating: threshold)
                        if !any((step .>= t) .| (step .<= -t)) {
                            k += 8
                            continue
                        }
                    }
                    if isStimulusEdge(x, k, flat: flat, after: after, threshold: threshold) { edges.append(k) }
                    k += 1
                }
            }
        }
        guard !edges.isEmpty else { return [] }
        edges.sort()
        let earliest = Int((coupledEarliest * fs).rounded()), latest = Int((coupledLatest * fs).rounded())
        let overlap = Int((coupledOverlap * fs).rounded())
        // Every edge in the window before each beat, with its interval to the beat.
        var pairs: [(beat: Int, edge: Int, interval: Int)] = []
        var e = 0
        for (n, b) in beats.enumerated() {
            while e < edges.count, edges[e] < b - earliest { e += 1 }
            var i = e
            while i < edges.count, edges[i] <= b + overlap {
                pairs.append((n, edges[i], b - edges[i]))
                i += 1
            }
        }
        let needed = max(coupledMinimumBeats, Int((coupledMinimumFraction * Double(beats.count)).rounded(.up)))
        let tolerance = max(1, Int((coupledTolerance * fs).rounded()))
        // The interval shared by the most beats (each beat counted once within ± tolerance), among
        // the edges at least `coupledLatest` before their beat.
        let confirming = pairs.filter { $0.interval >= latest }
        var best: (interval: Int, beats: Int)?
        for p in confirming {
            let support = Set(confirming.filter { abs($0.interval - p.interval) <= tolerance }.map(\.beat)).count
            if support > best?.beats ?? 0 { best = (p.interval, support) }
        }
        guard let best, best.beats >= needed else { return [] }
        // Per beat, the edge whose interval is nearest that one.
        var nearest: [Int: (edge: Int, distance: Int)] = [:]
        let reach = max(tolerance, Int((coupledReach * fs).rounded()))
        for p in pairs where abs(p.interval - best.interval) <= reach {
            let d = abs(p.interval - best.interval)
            if d < nearest[p.beat]?.distance ?? .max { nearest[p.beat] = (p.edge, d) }
        }
        let stimuli = nearest.values.map(\.edge)
        // One stimulus per edge (leads showing the same one a sample apart count once).
        var out: [Int] = []
        for s in Set(stimuli).sorted() where out.last.map({ s - $0 > after }) ?? true { out.append(s) }
        return out
    }

    /// Whether sample `k` of `x` is the tip of a spike: it stands more than `threshold` above (or
    /// below) both its neighbours `near` samples away, and that step is at least `returnFraction` of
    /// its height over the samples `far` away (the signal has come back: not a QRS upstroke).
    @inline(__always)
    func isSpikeTip(_ x: UnsafeBufferPointer<Float>, _ k: Int, near: Int, far: Int, threshold: Float) -> Bool {
        let v = x[k]
        let before = v - x[k - near], after = v - x[k + near]
        // Quick rejection: most samples are far from a spike on either side.
        guard abs(before) > threshold, abs(after) > threshold, v.isFinite else { return false }
        let sign: Float = before > 0 ? 1 : -1
        let e = min(sign * before, sign * after)
        guard e > threshold else { return false }
        let wide = max(sign * (v - x[k - far]), sign * (v - x[k + far]))
        return e > returnFraction * wide
    }

    /// Whether any of the eight samples from `k` might be a spike tip (`isSpikeTip`'s first
    /// conditions, eight at a time): a step of more than `threshold` to both neighbours `near` away,
    /// up to both or down to both.
    @inline(__always)
    func mayHoldSpikeTip(_ x: UnsafeBufferPointer<Float>, _ k: Int, near: Int, threshold: Float) -> Bool {
        guard let base = x.baseAddress else { return true }
        let raw = UnsafeRawPointer(base)
        let v = raw.loadUnaligned(fromByteOffset: 4 * k, as: SIMD8<Float>.self)
        let before = v - raw.loadUnaligned(fromByteOffset: 4 * (k - near), as: SIMD8<Float>.self)
        let after = v - raw.loadUnaligned(fromByteOffset: 4 * (k + near), as: SIMD8<Float>.self)
        let t = SIMD8<Float>(repeating: threshold), u = SIMD8<Float>(repeating: -threshold)
        // A tip stands above both neighbours by more than t, or below both (false for NaN).
        return any(((before .> t) .& (after .> t)) .| ((before .< u) .& (after .< u)))
    }

    /// The indices k in `range` (k − near ≥ 0, k + near < count) where `isSpikeTip` holds, in order.
    @inline(__always)
    func forEachSpikeTip(_ x: UnsafeBufferPointer<Float>, in range: Range<Int>, near: Int, far: Int, threshold: Float, _ body: (Int) -> Void) {
        var k = range.lowerBound
        while k < range.upperBound {
            let stop = min(range.upperBound, k + 8)
            if stop - k == 8, !mayHoldSpikeTip(x, k, near: near, threshold: threshold) {
                k = stop
                continue
            }
            for j in k..<stop where isSpikeTip(x, j, near: near, far: far, threshold: threshold) { body(j) }
            k = stop
        }
    }

    /// Spikes recognised by their shape in one or two leads (see `singleLeadHeight`).
    func detectByShape(_ leads: [[Float]], scales: [Float?], voltage: [Int], sampleRate fs: Double) -> [Int] {
        guard fs >= singleLeadMinimumRate * 0.999, let n = voltage.map({ leads[$0].count }).min() else { return [] }
        let step = max(1, Int((singleLeadStep * fs).rounded()))
        let near = max(step + 1, Int((returnDistance * fs).rounded()))
        guard n > 2 * near + 2 else { return [] }
        var flagged: [Int] = []
        for j in voltage {
            let threshold = singleLeadHeight / (scales[j] ?? 1)
            leads[j].withUnsafeBufferPointer { x in
                forEachSpikeTip(x, in: near..<(n - near), near: step, far: near, threshold: threshold) { flagged.append($0) }
            }
        }
        flagged.sort()
        // One spike per cluster of flagged samples (in either lead) closer than `returnDistance`.
        var spikes: [Int] = []
        var start = 0
        for i in flagged.indices where i + 1 == flagged.count || flagged[i + 1] - flagged[i] > near {
            spikes.append((flagged[start] + flagged[i]) / 2)
            start = i + 1
        }
        return spikes.count >= max(minimumSpikes, singleLeadMinimumSpikes) ? spikes : []
    }

    /// Sample indices of the pacing spikes in `leads` (raw samples, `scales` in mV per unit; leads
    /// without a voltage scale are ignored). With three or more voltage leads a spike must appear in
    /// `minimumLeads` of them at once (at most all but one, at least three); with one or two it must
    /// be recognisable by its shape alone.
    public func detect(_ leads: [[Float]], scales: [Float?], sampleRate fs: Double) -> [Int] {
        let voltage = leads.indices.filter { scales[$0] != nil }
        if !voltage.isEmpty, voltage.count < 3 { return detectByShape(leads, scales: scales, voltage: voltage, sampleRate: fs) }
        guard voltage.count >= 3, let n = voltage.map({ leads[$0].count }).min(), fs > 0 else { return [] }
        let near = max(1, Int((returnDistance * fs).rounded())), far = max(near + 1, Int((wideDistance * fs).rounded()))
        guard n > 2 * far + 2 else { return [] }
        var count = [UInt8](repeating: 0, count: n)
        for j in voltage {
            let x = leads[j]
            let threshold = minimumHeight / (scales[j] ?? 1)
            var lastFlagged = -2
            x.withUnsafeBufferPointer { x in
                count.withUnsafeMutableBufferPointer { count in
                    forEachSpikeTip(x, in: far..<(n - far), near: near, far: far, threshold: threshold) { k in
                        // Count each lead once per ±1 sample.
                        for j in max(lastFlagged + 2, k - 1)...(k + 1) { count[j] &+= 1 }
                        lastFlagged = k
                    }
                }
            }
        }
        let needed = UInt8(max(3, min(minimumLeads, voltage.count - 1)))
        var spikes: [Int] = []
        var k = 0
        while k < n {
            if count[k] >= needed {
                // The centre of the run of coincident samples.
                var end = k
                while end + 1 < n, count[end + 1] >= needed { end += 1 }
                spikes.append((k + end) / 2)
                k = end + far
            } else {
                k += 1
            }
        }
        return spikes.count >= minimumSpikes ? spikes : []
    }

    /// `x` with the span ±`halfWidth` around each spike replaced by a straight line.
    public func remove(_ spikes: [Int], from x: [Float], sampleRate fs: Double) -> [Float] {
        var y = x
        let h = max(1, Int((halfWidth * fs / 1000).rounded()))
        for s in spikes {
            let a = s - h, b = s + h
            guard a >= 0, b < y.count, y[a].isFinite, y[b].isFinite else { continue }
            for k in (a + 1)..<b { y[k] = y[a] + (y[b] - y[a]) * Float(k - a) / Float(b - a) }
        }
        return y
    }
}
