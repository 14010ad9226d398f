import Foundation

/// Signal augmentations of training samples (session 4; each is off by default in
/// `TrainingOptions`). Inputs are prepared leads: 100 Hz, band-passed, z-scored per lead.
public enum Augmentation {
    /// `x` resampled by `factor` about its centre (linear interpolation), same length: a factor
    /// above 1 stretches the waveform (a slower heart rate), below 1 compresses it; samples whose
    /// source falls outside the record are zero. A factor of 1 returns `x` unchanged.
    public static func stretched(_ x: [Float], by factor: Float) -> [Float] {
        guard factor != 1, factor > 0, x.count > 1 else { return x }
        let n = x.count
        let centre = Float(n - 1) / 2
        var out = [Float](repeating: 0, count: n)
        for t in 0..<n {
            let src = centre + (Float(t) - centre) / factor
            guard src >= 0, src <= Float(n - 1) else { continue }
            let i = min(Int(src), n - 2)
            let w = src - Float(i)
            out[t] = x[i] + w * (x[i + 1] - x[i])
        }
        return out
    }

    /// `x` plus white Gaussian noise of standard deviation `sigma` drawn from `rng`; `sigma` 0
    /// returns `x` unchanged and draws nothing.
    public static func noisy(_ x: [Float], sigma: Float, rng: inout SeededGenerator) -> [Float] {
        guard sigma > 0 else { return x }
        var out = x
        for t in 0..<out.count { out[t] += sigma * rng.nextGaussian() }
        return out
    }

    /// `lambda·a + (1 − lambda)·b` sample by sample over `a`'s length (`b` zero beyond its end).
    public static func mixed(_ a: [Float], _ b: [Float], lambda: Float) -> [Float] {
        var out = a
        for t in 0..<out.count { out[t] = lambda * a[t] + (1 - lambda) * (t < b.count ? b[t] : 0) }
        return out
    }

    /// Mixed targets: `lambda·a + (1 − lambda)·b` per entity; unknown (`nil`) when either is unknown.
    public static func mixedTargets(_ a: [Float?], _ b: [Float?], lambda: Float) -> [Float?] {
        a.enumerated().map { k, y in
            guard let y, k < b.count, let z = b[k] else { return nil }
            return lambda * y + (1 - lambda) * z
        }
    }
}
