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
        raw.withUnsafeBufferPointer { r in
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
            for v in r {
                let atTop = v >= hi - eps
                let atBottom = v <= lo + eps
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
            var hf = 0.0
            var sig = 0.0
            for k in 0..<min(highpassed.count, filtered.count) {
                let f = Double(filtered[k])
                let d = Double(highpassed[k]) - f
                hf += d * d
                sig += f * f
            }
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
        var baseline = [Float](repeating: 0, count: count)
        let bridged = Filters.bridgingGaps(raw).samples
        for k in 0..<count { baseline[k] = bridged[k] - highpassed[k] }
        let drift = Double(Self.percentileSpread(baseline, low: 0.01, high: 0.99)) * scale
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

    /// `high` minus `low` percentile, from a subsample of at most ~250 values (fast on long records).
    static func percentileSpread(_ x: [Float], low: Double, high: Double) -> Float {
        guard !x.isEmpty else { return 0 }
        let stride = max(1, x.count / 250)
        var sample: [Float] = []
        sample.reserveCapacity(x.count / stride + 1)
        var k = 0
        while k < x.count {
            if x[k].isFinite { sample.append(x[k]) }
            k += stride
        }
        guard !sample.isEmpty else { return 0 }
        sample.sort()
        let last = Double(sample.count - 1)
        return sample[Int((last * high).rounded())] - sample[Int((last * low).rounded())]
    }
}
