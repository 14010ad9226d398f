import Foundation

/// Wave boundaries of a beat, in milliseconds relative to the beat's QRS fiducial point
/// (negative = before it). A boundary that could not be found is `nil`.
public struct WaveBoundaries: Sendable, Codable, Hashable {
    public var pOnset: Double?
    public var pPeak: Double?
    public var pOffset: Double?
    public var qrsOnset: Double?
    public var qrsOffset: Double?
    public var tPeak: Double?
    public var tOffset: Double?

    /// Boundaries from their values (ms relative to the fiducial).
    public init(pOnset: Double? = nil, pPeak: Double? = nil, pOffset: Double? = nil, qrsOnset: Double? = nil, qrsOffset: Double? = nil, tPeak: Double? = nil, tOffset: Double? = nil) {
        self.pOnset = pOnset
        self.pPeak = pPeak
        self.pOffset = pOffset
        self.qrsOnset = qrsOnset
        self.qrsOffset = qrsOffset
        self.tPeak = tPeak
        self.tOffset = tOffset
    }
}

/// Delineation of one lead's template beat, in template sample indices.
public struct TemplateDelineation: Sendable, Hashable {
    public var pOnset: Int?
    public var pPeak: Int?
    public var pOffset: Int?
    public var qrsOnset: Int?
    public var qrsOffset: Int?
    public var tPeak: Int?
    public var tOffset: Int?
    /// The isoelectric (PR-segment) level of the template.
    public var baseline: Float = 0
    /// The largest deviation from `baseline` in the T-wave search window (template units), nil when
    /// there is no such window. Small = a flat or low T wave whose own end is unreliable.
    public var tWaveSize: Float?

    /// An empty delineation.
    public init() {}
}

/// Delineates a template (median) beat of one lead: QRS onset/offset from the slope envelope,
/// P and T peaks as the largest deflections in physiological windows, and P onset/offset and
/// T offset with the area (trapezium) indicator of Zhang et al. (2006), which is robust to noise.
public struct Delineator: Sendable {
    /// Fraction of the maximum QRS slope that marks a significant QRS slope.
    public var qrsSignificantSlope: Double = 0.25
    /// The same for the QRS end (nil = `qrsSignificantSlope`).
    public var qrsSignificantSlopeEnd: Double?
    /// Smoothing of the slope envelope, ms.
    public var slopeSmoothing: Double = 8
    /// Slope fraction below which the QRS has begun/ended.
    public var qrsOnsetSlope: Double = 0.04
    public var qrsOffsetSlope: Double = 0.05
    /// Walking back to the QRS onset stops early at a valley of the slope below this fraction of
    /// the maximal QRS slope, where the slope rises again before it: a slow wave just before the
    /// QRS (the P wave's end, fibrillation waves) is not the QRS. 0 = off.
    public var qrsOnsetValley: Double = 0.1
    /// Corrections (ms) added to the detected boundaries, calibrated against expert annotations.
    public var qrsOnsetShift: Double = 0
    public var qrsOffsetShift: Double = 0
    public var pOnsetShift: Double = 0
    public var pOffsetShift: Double = 0
    public var tOffsetShift: Double = 0
    /// `settledBoundary`: the band, as a fraction of the QRS peak-to-peak amplitude (0 = off).
    public var qrsFlatness: Double = 0.05
    /// Whether the QRS onset is moved out too (not only the offset).
    public var qrsFlatOnset = true
    /// How long (ms) the signal must stay within the band.
    public var flatWindow: Double = 20
    /// How far (ms) a QRS boundary may move out at most.
    public var maximumExtension: Double = 40
    /// A broad terminal wave (the slurred S or R' of a bundle branch block) pauses at its flat
    /// bottom before returning: when the QRS end found so far lies more than `terminalDeviation`
    /// × the QRS peak-to-peak amplitude away from the level before the QRS, and within
    /// `terminalReach` ms after it the slope rises again above `terminalReturnSlope` × the maximal
    /// QRS slope, moving the signal back toward that level, the QRS ends where that return
    /// slope has faded (`qrsOffsetSlope`). 0 = off.
    public var terminalReturnSlope: Double = 0.12
    public var terminalDeviation: Double = 0.1
    public var terminalReach: Double = 30
    /// Area-indicator windows, ms.
    public var pWindow: Double = 55
    public var tWindow: Double = 110
    /// Biphasic T waves (minus–plus or plus–minus), which experts end after the low terminal phase:
    /// after the first phase's end, a deflection of the opposite polarity whose extreme lies within
    /// `terminalTGap` ms of that end (no isoelectric gap, unlike a U wave), whose size against the
    /// level where it ends is at least `terminalTPhase` × the first phase's and at least
    /// `terminalTMinimum` (template units), which ends (area indicator over `terminalTWindow` ms)
    /// within `terminalTReach` ms of the first phase's end and within `terminalTDuration` ms of its
    /// own extreme (a slow decay after an overshoot is not a phase), and with which the QT from the
    /// QRS onset stays physiological (Bazett QTc ≤ `terminalTMaximumQTc` ms; a U wave or noise
    /// followed too far does not), ends the T wave. 0 = off.
    public var terminalTPhase: Double = 0.25
    public var terminalTGap: Double = 40
    public var terminalTMinimum: Double = 0.01
    public var terminalTWindow: Double = 90
    public var terminalTReach: Double = 150
    public var terminalTDuration: Double = 90
    public var terminalTMaximumQTc: Double = 500
    /// A delineator with the default (calibrated) settings.
    public init() {}

    /// Delineates `x` (a template beat, band-passed) whose fiducial is at index `c`; `rr` is the
    /// median RR interval in samples (bounds the P and T search windows).
    public func delineate(_ x: [Float], fiducial c: Int, sampleRate fs: Double, rr: Int) -> TemplateDelineation {
        var result = TemplateDelineation()
        let n = x.count
        guard n > 8, c > 2, c < n - 2, fs > 0 else { return result }
        func ms(_ v: Double) -> Int { Int((v * fs / 1000).rounded()) }
        // Slope (central difference), per ms.
        var d = [Float](repeating: 0, count: n)
        for k in 1..<(n - 1) { d[k] = (x[k + 1] - x[k - 1]) * 0.5 }
        d[0] = d[1]
        d[n - 1] = d[n - 2]
        var a = d.map { abs($0) }
        // Light smoothing of the slope envelope (~8 ms).
        let sw = max(1, ms(slopeSmoothing))
        if sw > 1 { a = QRSDetector.movingAverage(a, width: sw) }
        let core0 = max(1, c - ms(60)), core1 = min(n - 2, c + ms(60))
        var smax: Float = 0
        for k in core0...core1 { smax = max(smax, a[k]) }
        guard smax > 0 else { return result }
        let significant = Float(qrsSignificantSlope) * smax
        let significantEnd = Float(qrsSignificantSlopeEnd ?? qrsSignificantSlope) * smax
        let search0 = max(1, c - ms(120)), search1 = min(n - 2, c + ms(140))
        var first = c, last = c
        for k in search0...c where a[k] >= significant {
            first = k
            break
        }
        var k = search1
        while k >= c {
            if a[k] >= significantEnd {
                last = k
                break
            }
            k -= 1
        }
        // Walk out to where the slope has faded.
        var on = first
        let onLimit = max(1, c - ms(160))
        while on > onLimit, a[on] > Float(qrsOnsetSlope) * smax { on -= 1 }
        // The QRS onset stops earlier, at a slope valley where the slope rises again before it
        // into another wave; `on` (where the slope has faded) still bounds the P-wave search
        // and the isoelectric level.
        var qrsOn = first
        if qrsOnsetValley > 0 {
            let valley = Float(qrsOnsetValley) * smax
            while qrsOn > on, !(a[qrsOn] < valley && a[qrsOn - 1] > a[qrsOn]) { qrsOn -= 1 }
        } else {
            qrsOn = on
        }
        var off = last
        let offLimit = min(n - 2, c + ms(200))
        while off < offLimit, a[off] > Float(qrsOffsetSlope) * smax { off += 1 }
        if off >= offLimit, offLimit > last {
            // The slope never faded (a noisy median beat of few beats, or a T wave fused onto
            // the QRS): the QRS ends where its slope is lowest instead of at the search limit.
            var lowest = last
            for k in last...offLimit where a[k] < a[lowest] { lowest = k }
            off = lowest
        }
        if qrsFlatness > 0 {
            let settledOn = qrsFlatOnset ? settledBoundary(x, onset: on, offset: off, isOffset: false, sampleRate: fs) : on
            if qrsOn != on, qrsFlatOnset { qrsOn = settledBoundary(x, onset: qrsOn, offset: off, isOffset: false, sampleRate: fs) }
            off = settledBoundary(x, onset: on, offset: off, isOffset: true, sampleRate: fs)
            if qrsOn == on { qrsOn = settledOn }
            on = settledOn
        }
        if terminalReturnSlope > 0 { off = terminalReturn(x, slope: a, smax: smax, onset: on, offset: off, sampleRate: fs) }
        on = max(0, on + ms(qrsOnsetShift))
        off = min(n - 1, off + ms(qrsOffsetShift))
        result.qrsOnset = max(0, qrsOn + ms(qrsOnsetShift))
        result.qrsOffset = off
        // Isoelectric level: mean of the 10–30 ms before QRS onset.
        let b0 = max(0, on - ms(30)), b1 = max(b0 + 1, on - ms(10))
        var base: Float = 0
        for k in b0..<b1 { base += x[k] }
        base /= Float(b1 - b0)
        result.baseline = base
        let qrsAmplitude = x[on...off].reduce(Float(0)) { max($0, abs($1 - base)) }
        // P wave: the largest deflection 40–300 ms before QRS onset (bounded by the RR).
        let pStart = max(1, on - min(ms(300), Int(Double(rr) * 0.45)))
        let pEnd = on - ms(20)
        if pEnd - pStart > ms(40) {
            var pk = -1
            var best: Float = 0
            for k in pStart...pEnd where abs(x[k] - base) > best {
                best = abs(x[k] - base)
                pk = k
            }
            if pk > pStart, pk < pEnd, best > 0.03 * qrsAmplitude {
                let sign: Float = x[pk] >= base ? 1 : -1
                let w = max(2, ms(pWindow))
                // Onset: the k before the peak maximising the forward area above the level at k.
                let onset = Self.areaArgmax(x, from: max(pStart - ms(60), 1), to: pk, window: w, forward: true, sign: sign)
                let offset = Self.areaArgmax(x, from: pk, to: min(on, n - 1), window: w, forward: false, sign: sign)
                if let onset, let offset, onset < pk, offset > pk {
                    result.pPeak = pk
                    result.pOnset = max(0, onset + ms(pOnsetShift))
                    result.pOffset = min(on, offset + ms(pOffsetShift))
                }
            }
        }
        // T wave: the largest deflection from 80 ms after QRS offset to 60% of the RR (≤ 600 ms).
        let tStart = min(n - 2, off + ms(80))
        let tEnd = min(n - 2, c + min(ms(600), Int(Double(rr) * 0.62)))
        if tEnd - tStart > ms(60) {
            var pk = -1
            var best: Float = 0
            for k in tStart...tEnd where abs(x[k] - base) > best {
                best = abs(x[k] - base)
                pk = k
            }
            result.tWaveSize = best
            if pk >= tStart, best > 0.02 * qrsAmplitude {
                let sign: Float = x[pk] >= base ? 1 : -1
                let w = max(2, ms(tWindow))
                let endLimit = min(n - 1, pk + ms(300), c + Int(Double(rr) * 0.8))
                if let offset = Self.areaArgmax(x, from: pk, to: endLimit, window: w, forward: false, sign: sign), offset > pk {
                    result.tPeak = pk
                    result.tOffset = min(n - 1, offset + ms(tOffsetShift))
                    if terminalTPhase > 0, let end = terminalTPhaseEnd(x, peak: pk, firstEnd: offset, sign: sign, qrsOnset: qrsOn, sampleRate: fs, rr: rr, fiducial: c) {
                        result.tOffset = min(n - 1, end + ms(tOffsetShift))
                    }
                }
            }
        }
        return result
    }

    /// The end of a terminal T phase of opposite polarity after the first phase's end `firstEnd`
    /// (see `terminalTPhase`), or nil when there is none that qualifies.
    func terminalTPhaseEnd(_ x: [Float], peak pk: Int, firstEnd: Int, sign: Float, qrsOnset: Int, sampleRate fs: Double, rr: Int, fiducial c: Int) -> Int? {
        func ms(_ v: Double) -> Int { Int((v * fs / 1000).rounded()) }
        let n = x.count
        let limit = min(n - 1, firstEnd + ms(terminalTReach), c + Int(Double(rr) * 0.8))
        guard limit > firstEnd + ms(20),
            let end = Self.areaArgmax(x, from: firstEnd + 1, to: limit, window: max(2, ms(terminalTWindow)), forward: false, sign: -sign),
            end > firstEnd + ms(20)
        else { return nil }
        var extreme = firstEnd
        for k in firstEnd...end where -sign * x[k] > -sign * x[extreme] { extreme = k }
        guard extreme - firstEnd <= ms(terminalTGap), extreme < end, end - extreme <= ms(terminalTDuration) else { return nil }
        let level = x[end]
        let terminal = -sign * (x[extreme] - level), first = sign * (x[pk] - level)
        guard first > 0, terminal >= Float(terminalTMinimum), terminal >= Float(terminalTPhase) * first else { return nil }
        let qt = Double(end - qrsOnset) / fs, rrSeconds = Double(rr) / fs
        guard rrSeconds > 0, qt / rrSeconds.squareRoot() * 1000 <= terminalTMaximumQTc else { return nil }
        return end
    }

    /// The T offset of a lead whose T wave is too low for its own end to be trusted, near `center`
    /// (a template index, e.g. the multi-lead consensus): the area-indicator end within
    /// ± `reach` ms of it (not earlier than 40 ms after the QRS offset), for the T polarity the
    /// lead shows over the 120–20 ms before `center`. Nil when there is no room to search.
    public func lowTWaveOffset(_ x: [Float], center: Int, qrsOffset: Int, baseline: Float, reach: Double, sampleRate fs: Double) -> Int? {
        func ms(_ v: Double) -> Int { Int((v * fs / 1000).rounded()) }
        let n = x.count
        let a = center - ms(120), b = center - ms(20)
        guard a >= 0, b > a, b <= n else { return nil }
        var level: Float = 0
        for k in a..<b { level += x[k] - baseline }
        let sign: Float = level >= 0 ? 1 : -1
        let lo = max(center - ms(reach), qrsOffset + ms(40)), hi = min(n - 1, center + ms(reach))
        guard hi > lo else { return nil }
        return Self.areaArgmax(x, from: lo, to: hi, window: max(2, ms(tWindow)), forward: false, sign: sign)
    }

    /// The QRS boundary moved outward while the signal has not yet settled: from `boundary`
    /// outward (later for the offset, earlier for the onset), the first index from which the
    /// signal stays within `qrsFlatness` × the QRS's peak-to-peak amplitude over the next
    /// (offset) or previous (onset) `flatWindow` ms, at most `maximumExtension` ms away. Catches a
    /// slurred terminal S or a slow initial deflection whose slope is below the slope threshold.
    public func settledBoundary(_ x: [Float], onset: Int, offset: Int, isOffset: Bool, sampleRate fs: Double) -> Int {
        let n = x.count
        let boundary = isOffset ? offset : onset
        guard qrsFlatness > 0, onset >= 0, offset > onset, offset < n else { return boundary }
        var top = -Float.infinity, bottom = Float.infinity
        for k in onset...offset {
            top = max(top, x[k])
            bottom = min(bottom, x[k])
        }
        let band = Float(qrsFlatness) * (top - bottom)
        let w = max(2, Int((flatWindow * fs / 1000).rounded()))
        let reach = Int((maximumExtension * fs / 1000).rounded())
        let step = isOffset ? 1 : -1
        var k = boundary
        for _ in 0...reach {
            let a = isOffset ? k : k - w, b = isOffset ? k + w : k
            guard a >= 0, b < n else { return boundary }
            var lo = x[a], hi = x[a]
            for j in a...b {
                lo = min(lo, x[j])
                hi = max(hi, x[j])
            }
            if hi - lo <= band { return k }
            k += step
        }
        return boundary
    }

    /// The QRS offset moved past a broad terminal wave's return (see `terminalReturnSlope`).
    func terminalReturn(_ x: [Float], slope a: [Float], smax: Float, onset on: Int, offset off: Int, sampleRate fs: Double) -> Int {
        let n = x.count
        func ms(_ v: Double) -> Int { Int((v * fs / 1000).rounded()) }
        guard on >= 0, off > on, off < n - 2 else { return off }
        let b0 = max(0, on - ms(20)), b1 = max(b0 + 1, on)
        var base: Float = 0
        for k in b0..<b1 { base += x[k] }
        base /= Float(b1 - b0)
        var top = -Float.infinity, bottom = Float.infinity
        for k in on...off {
            top = max(top, x[k])
            bottom = min(bottom, x[k])
        }
        let deviation = x[off] - base
        guard abs(deviation) > Float(terminalDeviation) * (top - bottom) else { return off }
        let limit = min(n - 2, off + ms(terminalReach))
        guard limit > off else { return off }
        var peak = off
        for k in off...limit where a[k] > a[peak] { peak = k }
        guard a[peak] > Float(terminalReturnSlope) * smax else { return off }
        // The return moves toward the level before the QRS.
        let step = x[min(n - 1, peak + 1)] - x[max(0, peak - 1)]
        guard step * deviation < 0 else { return off }
        var end = peak
        let endLimit = min(n - 2, off + ms(2 * terminalReach))
        while end < endLimit, a[end] > Float(qrsOffsetSlope) * smax { end += 1 }
        return end
    }

    /// The mean slope envelope over the `window` ms after index `k` of template `x` (fiducial at
    /// `c`), as a fraction of the maximal QRS slope (within ± 60 ms of `c`); nil when out of range.
    /// Small after a sharp J point where the signal settles into a flat ST segment; large where
    /// the S wave runs on into a steep ST segment and the QRS end is ill-defined.
    public func slopeAfter(_ x: [Float], at k: Int, fiducial c: Int, window: Double, sampleRate fs: Double) -> Double? {
        func ms(_ v: Double) -> Int { Int((v * fs / 1000).rounded()) }
        let n = x.count
        let core0 = max(1, c - ms(60)), core1 = min(n - 2, c + ms(60)), end = k + ms(window)
        guard n > 8, fs > 0, core0 < core1, k >= 1, end <= n - 2 else { return nil }
        var a = [Float](repeating: 0, count: n)
        for j in 1..<(n - 1) { a[j] = abs(x[j + 1] - x[j - 1]) * 0.5 }
        a[0] = a[1]
        a[n - 1] = a[n - 2]
        let sw = max(1, ms(slopeSmoothing))
        if sw > 1 { a = QRSDetector.movingAverage(a, width: sw) }
        var smax: Float = 0
        for j in core0...core1 { smax = max(smax, a[j]) }
        guard smax > 0 else { return nil }
        var sum: Float = 0
        for j in k...end { sum += a[j] }
        return Double(sum / Float(end - k + 1) / smax)
    }

    /// QRS onset and offset (template indices) from the mean of the leads' normalised slope
    /// envelopes: where fewer than `onsetLevel` / `offsetLevel` (fraction of the leads' maximal
    /// QRS slopes, on average) remain active. A multi-lead consensus that does not depend on any
    /// one lead.
    public func consensusQRS(_ templates: [[Float]], fiducial c: Int, sampleRate fs: Double, onsetLevel: Double, offsetLevel: Double) -> (onset: Int, offset: Int)? {
        guard let n = templates.first?.count, n > 8, c > 2, c < n - 2, fs > 0 else { return nil }
        func ms(_ v: Double) -> Int { Int((v * fs / 1000).rounded()) }
        var envelope = [Float](repeating: 0, count: n)
        var used = 0
        for x in templates where x.count == n {
            var a = [Float](repeating: 0, count: n)
            for k in 1..<(n - 1) { a[k] = abs(x[k + 1] - x[k - 1]) * 0.5 }
            let sw = max(1, ms(slopeSmoothing))
            if sw > 1 { a = QRSDetector.movingAverage(a, width: sw) }
            var smax: Float = 0
            for k in max(1, c - ms(60))...min(n - 2, c + ms(60)) { smax = max(smax, a[k]) }
            guard smax > 0 else { continue }
            let w = 1 / smax
            for k in 0..<n { envelope[k] += a[k] * w }
            used += 1
        }
        guard used > 0 else { return nil }
        let on = Float(onsetLevel) * Float(used), off = Float(offsetLevel) * Float(used)
        var k = c
        let onLimit = max(1, c - ms(160))
        while k > onLimit, envelope[k] > on { k -= 1 }
        var j = c
        let offLimit = min(n - 2, c + ms(200))
        while j < offLimit, envelope[j] > off { j += 1 }
        return (k + ms(qrsOnsetShift), j + ms(qrsOffsetShift))
    }

    /// The index k in [from, to] maximising `sign × A(k)` with A(k) = Σ (x[j] − x[k]) over the
    /// `window` samples before k (`forward == false`, for offsets) or after k (`forward == true`, for onsets).
    static func areaArgmax(_ x: [Float], from: Int, to: Int, window: Int, forward: Bool, sign: Float) -> Int? {
        let n = x.count
        guard from <= to, from >= 0, to < n else { return nil }
        var cumulative = [Float](repeating: 0, count: n + 1)
        for k in 0..<n { cumulative[k + 1] = cumulative[k] + x[k] }
        var best: Int?
        var bestValue = -Float.infinity
        for k in from...to {
            let lo: Int, hi: Int  // [lo, hi)
            if forward {
                lo = k
                hi = min(n, k + window)
            } else {
                lo = max(0, k - window + 1)
                hi = k + 1
            }
            let area = (cumulative[hi] - cumulative[lo]) - Float(hi - lo) * x[k]
            let value = sign * area
            if value > bestValue {
                bestValue = value
                best = k
            }
        }
        return best
    }
}
