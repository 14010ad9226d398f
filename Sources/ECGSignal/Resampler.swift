import Foundation

/// Sample-rate conversion between any two rates.
public enum Resampler {
    /// Resamples `x` from `from` Hz to `to` Hz.
    ///
    /// Downsampling first applies a zero-phase 8th-order Butterworth low-pass at 0.45 × the new
    /// rate (anti-aliasing); the samples are then interpolated with a cubic (Catmull-Rom) kernel
    /// at the new instants `k / to`. The output has `round(count × to / from)` samples (at least one
    /// when the input has any). Equal rates return the input unchanged (NaN included); otherwise
    /// non-finite samples are bridged by linear interpolation first (see `Filters.bridgingGaps`).
    /// Invalid rates (≤ 0, not finite) return an empty array.
    public static func resample(_ x: [Float], from: Double, to: Double) -> [Float] {
        guard from.isFinite, to.isFinite, from > 0, to > 0 else { return [] }
        if from == to || x.isEmpty { return x }
        var source = Filters.bridgingGaps(x).samples
        if to < from {
            source = Filters.lowpass(source, sampleRate: from, cutoff: 0.45 * to, order: 8)
        }
        let n = source.count
        let count = max(1, Int((Double(n) * to / from).rounded()))
        var out = [Float](repeating: 0, count: count)
        let step = from / to
        source.withUnsafeBufferPointer { s in
            for k in 0..<count {
                let t = Double(k) * step
                let i = Int(t)
                let f = Float(t - Double(i))
                let p1 = s[min(i, n - 1)]
                let p0 = s[max(0, min(i - 1, n - 1))]
                let p2 = s[min(i + 1, n - 1)]
                let p3 = s[min(i + 2, n - 1)]
                // Catmull-Rom spline through p1 (f = 0) and p2 (f = 1).
                let a = -0.5 * p0 + 1.5 * p1 - 1.5 * p2 + 0.5 * p3
                let b = p0 - 2.5 * p1 + 2 * p2 - 0.5 * p3
                let c = -0.5 * p0 + 0.5 * p2
                out[k] = ((a * f + b) * f + c) * f + p1
            }
        }
        return out
    }
}
