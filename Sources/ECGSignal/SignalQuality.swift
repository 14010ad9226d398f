import Foundation

/// The quality of one lead: a score in [0, 1], whether it can be analysed, and why not.
public struct LeadQuality: Sendable, Hashable {
    /// 1 = clean; each problem lowers it.
    public var score: Double
    /// `.notAnalysable` when a problem makes the lead unusable.
    public var status: LeadStatus
    /// Problems found (`flat line`, `clipping (12% of samples at the rail)`, …).
    public var reasons: [String]

    /// A quality from its parts.
    public init(score: Double, status: LeadStatus, reasons: [String]) {
        self.score = score
        self.status = status
        self.reasons = reasons
    }
}

/// Per-lead signal-quality assessment: flat line, missing samples, clipping, high-frequency noise,
/// baseline drift and too-short recordings, each with a threshold and a plain-words reason.
public struct SignalQualityAssessor: Sendable {
    /// Shortest analysable lead, seconds.
    public var minimumDuration: Double = 2.0
    /// Peak-to-peak (1st–99th percentile) below this is a flat line, mV.
    public var flatThresholdMillivolts: Double = 0.02
    /// Fraction of invalid (NaN) samples above which the lead is not analysable.
    public var maximumMissingFraction: Double = 0.2
    /// Fraction of samples stuck at the lead's extremes above which the lead is not analysable.
    public var maximumClippedFraction: Double = 0.05
    /// RMS of the content above 40 Hz relative to the 0.5–40 Hz content: above → not analysable.
    public var maximumNoiseRatio: Double = 0.6
    /// Baseline excursion (1st–99th percentile of the < 0.5 Hz content) relative to the 0.5–40 Hz
    /// peak-to-peak: above → not analysable.
    public var maximumDriftRatio: Double = 4.0

    /// An assessor with the default thresholds.
    public init() {}

    /// Assesses one lead. `raw` are the samples as read (NaN allowed), `highpassed` the 0.5 Hz
    /// high-passed and `filtered` the 0.5–40 Hz signal (both gap-bridged, same length);
    /// `millivoltsPerUnit` is nil for non-voltage units.
    public func assess(raw: [Float], highpassed: [Float], filtered: [Float], sampleRate: Double, millivoltsPerUnit: Float?) -> LeadQuality {
        assess(raw: raw, highpassed: highpassed, filtered: filtered, sampleRate: sampleRate, millivoltsPerUnit: millivoltsPerUnit, noiseEnergy: nil)
    }

    /// `assess` with the lead's `noiseEnergy(highpassed:filtered:)` already computed (nil = computed here).
    func assess(
        raw: [Float], highpassed: [Float], filtered: [Float], sampleRate: Double, millivoltsPerUnit: Float?, noiseEnergy: (hf: Double, signal: Double)?
    ) -> LeadQuality {
        var reasons: [String] = []
        var score = 1.0
        var analysable = true
        let n = raw.count
        let duration = sampleRate > 0 ? Double(n) / sampleRate : 0
        if n == 0 || duration + 0.5 / max(sampleRate, 1) < minimumDuration {
            return LeadQuality(score: 0, status: .notAnalysable, reasons: [String(format: "too short (%.2f s, at least %.1f s needed)", duration, minimumDuration)])
        }
        var missing = 0
        var lo = Float.infinity
        var hi = -Float.infinity
        let finite = Filters.allFinite(raw)
        raw.withUnsafeBufferPointer { r in
            if finite {
                // Eight running extremes (the compiler keeps them in vector registers); the extremes
                // do not depend on the order in which they are taken.
                var lo8 = SIMD8<Float>(repeating: .infinity), hi8 = SIMD8<Float>(repeating: -.infinity)
                guard let base = r.baseAddress else { return }
                var k = 0
                while k + 8 <= r.count {
                    let v = UnsafeRawPointer(base + k).loadUnaligned(as: SIMD8<Float>.self)
                    lo8.replace(with: v, where: v .< lo8)
                    hi8.replace(with: v, where: v .> hi8)
                    k += 8
                }
                lo = lo8.min()
                hi = hi8.max()
                while k < r.count {
                    lo = min(lo, r[k])
                    hi = max(hi, r[k])
                    k += 1
                }
                return
            }
            for v in r {
                if v.isFinite {
                    if v < lo { lo = v }
                    if v > hi { hi = v }
                } else {
                    missing += 1
                }
            }
        }
        let missingFraction = Double(missing) / Double(n)
        if missing == n {
            return LeadQuality(score: 0, status: .notAnalysable, reasons: ["no valid samples"])
        }
        if missingFraction > maximumMissingFraction {
            analysable = false
            reasons.append(String(format: "missing samples (%.0f%% invalid)", missingFraction * 100))
        } else if missing > 0 {
            score *= 1 - missingFraction
            reasons.append("\(missing) invalid samples bridged by interpolation")
        }
        // Flat line: percentile spread of the band-passed signal.
        let scale = Double(millivoltsPerUnit ?? 1)
        let spread = Double(Self.percentileSpread(filtered, low: 0.01, high: 0.99)) * scale
        let rawSpread = Double(hi - lo) * scale
        let flat = millivoltsPerUnit != nil ? spread < flatThresholdMillivolts : (rawSpread <= 1e-6 * max(1, Double(abs(hi)) * scale) || spread <= 1e-9)
        if flat {
            return LeadQuality(score: 0, status: .notAnalysable, reasons: reasons + ["flat line"])
        }
        // Clipping: runs of ≥ 3 samples at the recorded extremes.
        let range = hi - lo
        let eps = range * 0.002
        var clipped = 0
        raw.withUnsafeBufferPointer { r in
            var run = 0
            var runIsTop = false
            let top = hi - eps, bottom = lo + eps
            var start = 0
            while start < r.count {
                let end = min(r.count, start + 64)
                // Most blocks have no sample near the extremes: the run (if any) ends at the block's start.
                if end - start == 64, let base = r.baseAddress, !Self.anyNear(base + start, top: top, bottom: bottom) {
                    if run >= 3 { clipped += run }
                    run = 0
                    start = end
                    continue
                }
                for k in start..<end {
                    let v = r[k]
                    let atTop = v >= top
                    let atBottom = v <= bottom
                    if v.isFinite, atTop || atBottom {
                        if run > 0, runIsTop == atTop {
                            run += 1
                        } else {
                            if run >= 3 { clipped += run }
                            run = 1
                            runIsTop = atTop
                        }
                    } else {
                        if run >= 3 { clipped += run }
                        run = 0
                    }
                }
                start = end
            }
            if run >= 3 { clipped += run }
        }
        let clippedFraction = Double(clipped) / Double(n)
        if clippedFraction > maximumClippedFraction {
            analysable = false
            reasons.append(String(format: "clipping (%.1f%% of samples at the rail)", clippedFraction * 100))
        } else if clippedFraction > 0.005 {
            score *= 1 - 5 * clippedFraction
            reasons.append(String(format: "some clipping (%.1f%% of samples)", clippedFraction * 100))
        }
        // High-frequency noise (only meaningful when 40 Hz is below Nyquist).
        if sampleRate > 100 {
            let (hf, sig) = noiseEnergy ?? Self.noiseEnergy(highpassed: highpassed, filtered: filtered)
            let ratio = sig > 0 ? (hf / sig).squareRoot() : .infinity
            if ratio > maximumNoiseRatio {
                analysable = false
                reasons.append(String(format: "high-frequency noise (%.0f%% of the signal RMS above 40 Hz)", ratio * 100))
            } else if ratio > 0.2 {
                score *= 1 - (ratio - 0.2) / (maximumNoiseRatio - 0.2) * 0.5
                reasons.append(String(format: "high-frequency noise (%.0f%% of the signal RMS)", ratio * 100))
            }
        }
        // Baseline drift: the low-frequency part the high-pass removed.
        let count = min(raw.count, highpassed.count)
        let bridged = finite ? raw : Filters.bridgingGaps(raw).samples
        let drift = Double(Self.percentileSpread(count: count, low: 0.01, high: 0.99) { bridged[$0] - highpassed[$0] }) * scale
        let driftRatio = spread > 0 ? drift / spread : .infinity
        if driftRatio > maximumDriftRatio {
            analysable = false
            reasons.append(String(format: "baseline drift (%.1f× the signal amplitude)", driftRatio))
        } else if driftRatio > 1 {
            score *= 1 - (driftRatio - 1) / (maximumDriftRatio - 1) * 0.4
            reasons.append(String(format: "baseline drift (%.1f× the signal amplitude)", driftRatio))
        }
        if !analysable { score = min(score, 0.2) * 0.5 }
        return LeadQuality(score: max(0, min(1, score)), status: analysable ? .ok : .notAnalysable, reasons: reasons)
    }

    /// Whether any of the 64 values at `x` is at or above `top` or at or below `bottom`.
    @inline(__always)
    static func anyNear(_ x: UnsafePointer<Float>, top: Float, bottom: Float) -> Bool {
        let raw = UnsafeRawPointer(x)
        let t = SIMD8<Float>(repeating: top), b = SIMD8<Float>(repeating: bottom)
        var near = SIMDMask<SIMD8<Int32>>(repeating: false)
        for k in 0..<8 {
            let v = raw.loadUnaligned(fromByteOffset: 32 * k, as: SIMD8<Float>.self)
            near .|= (v .>= t) .| (v .<= b)
        }
        return any(near)
    }

    /// Energy above 40 Hz (Σ (highpassed − filtered)²) and of the 0.5–40 Hz signal (Σ filtered²),
    /// summed in sample order in double precision.
    static func noiseEnergy(highpassed: [Float], filtered: [Float]) -> (hf: Double, signal: Double) {
        var hf = 0.0
        var sig = 0.0
        for k in 0..<min(highpassed.count, filtered.count) {
            let f = Double(filtered[k])
            let d = Double(highpassed[k]) - f
            hf += d * d
            sig += f * f
        }
        return (hf, sig)
    }

    /// `noiseEnergy` of several leads at once, four leads per SIMD lane group: each lane sums its
    /// own lead in sample order, so the result is that of one call per lead, but the four (or more)
    /// independent sums no longer wait on each other's additions.
    static func noiseEnergy(highpassed: [[Float]], filtered: [[Float]]) -> [(hf: Double, signal: Double)] {
        var out: [(hf: Double, signal: Double)] = []
        out.reserveCapacity(highpassed.count)
        var start = 0
        while start < highpassed.count {
            let members = Array(start..<min(start + 4, highpassed.count))
            start += 4
            let n = members.map { min(highpassed[$0].count, filtered[$0].count) }
            guard members.count > 1, let m = n.min(), n.allSatisfy({ $0 == m }) else {
                for i in members { out.append(noiseEnergy(highpassed: highpassed[i], filtered: filtered[i])) }
                continue
            }
            let lanes = members + [Int](repeating: members[0], count: 4 - members.count)
            let (hf, sig) = Filters.withElementPointers(lanes.map { highpassed[$0] } + lanes.map { filtered[$0] }) { p in
                var hf = SIMD4<Double>.zero, sig = SIMD4<Double>.zero
                for k in 0..<m {
                    let f = SIMD4(Double(p[4][k]), Double(p[5][k]), Double(p[6][k]), Double(p[7][k]))
                    let d = SIMD4(Double(p[0][k]), Double(p[1][k]), Double(p[2][k]), Double(p[3][k])) - f
                    hf += d * d
                    sig += f * f
                }
                return (hf, sig)
            }
            for l in members.indices { out.append((hf[l], sig[l])) }
        }
        return out
    }

    /// `high` minus `low` percentile, from a subsample of at most ~250 values (fast on long records).
    static func percentileSpread(_ x: [Float], low: Double, high: Double) -> Float {
        x.withUnsafeBufferPointer { b in percentileSpread(count: b.count, low: low, high: high) { b[$0] } }
    }

    /// `percentileSpread` of the values `value(0)`, …, `value(count − 1)` (only the subsampled ones are taken).
    static func percentileSpread(count: Int, low: Double, high: Double, _ value: (Int) -> Float) -> Float {
        guard count > 0 else { return 0 }
        let stride = max(1, count / 250)
        var sample: [Float] = []
        sample.reserveCapacity(count / stride + 1)
        var k = 0
        while k < count {
            let v = value(k)
            if v.isFinite { sample.append(v) }
            k += stride
        }
        guard !sample.isEmpty else { return 0 }
        let last = Double(sample.count - 1)
        let upper = Int((last * high).rounded()), lower = Int((last * low).rounded())
        // The two order statistics a full sort would put there (selection, not a sort).
        return sample.withUnsafeMutableBufferPointer { s in
            let top = orderStatistic(s, upper), bottom = orderStatistic(s, lower)
            return top - bottom
        }
    }

    /// The `k`-th smallest value of `a` (what `a.sorted()[k]` holds): near either end by one pass that
    /// keeps the few extreme values, elsewhere by quickselect (which reorders `a`).
    static func orderStatistic(_ a: UnsafeMutableBufferPointer<Float>, _ k: Int) -> Float {
        let fromTop = a.count - 1 - k
        if k < 16 || fromTop < 16 {
            let low = k < 16
            let keep = (low ? k : fromTop) + 1
            return withUnsafeTemporaryAllocation(of: Float.self, capacity: keep) { kept in
                // kept[0..<filled] sorted: ascending (the smallest so far) or descending (the largest).
                var filled = 0
                for v in a {
                    if filled == keep {
                        guard low ? v < kept[keep - 1] : v > kept[keep - 1] else { continue }
                        filled -= 1
                    }
                    var j = filled
                    while j > 0, low ? kept[j - 1] > v : kept[j - 1] < v {
                        kept[j] = kept[j - 1]
                        j -= 1
                    }
                    kept[j] = v
                    filled += 1
                }
                return kept[keep - 1]
            }
        }
        return select(a, k, in: 0, a.count - 1)
    }

    /// The `k`-th smallest of `a[lo...hi]` (quickselect; `a` is partially reordered around it, so
    /// that afterwards no element before index k is larger and none after it smaller).
    static func select(_ a: UnsafeMutableBufferPointer<Float>, _ k: Int, in lo: Int, _ hi: Int) -> Float {
        var lo = lo, hi = hi
        while hi > lo {
            let mid = lo + (hi - lo) / 2
            let x = a[lo], y = a[mid], z = a[hi]
            let pivot = max(min(x, y), min(max(x, y), z))  // median of three
            var i = lo, j = hi
            while i <= j {
                while a[i] < pivot { i += 1 }
                while a[j] > pivot { j -= 1 }
                if i <= j {
                    a.swapAt(i, j)
                    i += 1
                    j -= 1
                }
            }
            if k <= j {
                hi = j
            } else if k >= i {
                lo = i
            } else {
                return a[k]
            }
        }
        return a[k]
    }
}
