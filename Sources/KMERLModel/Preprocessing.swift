import ECGCore
import Foundation

/// Brings any lead to the form the encoder was trained on: the shared PTB-XL copies were
/// band-passed 0.5–40 Hz, z-scored per lead and sampled at 100 Hz. Leads in physical units
/// (mV, µV …) are band-passed (zero-phase second-order Butterworth high-pass 0.5 Hz and low-pass
/// 40 Hz at their own rate), resampled to the model rate, then z-scored; leads already in
/// normalized units (`NU`) are only resampled and z-scored. Invalid samples (NaN) become 0
/// after filtering. The result is cut to the centre window or padded at the end to `length`.
public struct LeadPreprocessor: Sendable {
    /// Target rate (Hz).
    public var sampleRate: Double
    /// Target length in samples.
    public var length: Int

    /// A preprocessor for the given target.
    public init(sampleRate: Double, length: Int) {
        self.sampleRate = sampleRate
        self.length = length
    }

    /// The prepared samples of one lead.
    public func prepare(_ signal: LeadSignal, samplingRate: Double) -> [Float] {
        var x = signal.samples.map { $0.isFinite ? Double($0) : 0 }
        let normalized = signal.units.trimmingWhitespace().uppercased() == "NU"
        if !normalized && samplingRate > 0 && x.count > 8 {
            x = Self.filtfilt(x, Self.butterworthHighPass(cutoff: 0.5, rate: samplingRate))
            if 40 < samplingRate / 2 * 0.98 {
                x = Self.filtfilt(x, Self.butterworthLowPass(cutoff: 40, rate: samplingRate))
            }
        }
        if samplingRate > 0 && abs(samplingRate - sampleRate) > 1e-6 && !x.isEmpty {
            if samplingRate > sampleRate * 1.05 && normalized {
                // Anti-alias before decimating when no band-pass ran.
                x = Self.filtfilt(x, Self.butterworthLowPass(cutoff: min(40, sampleRate * 0.45), rate: samplingRate))
            }
            x = Self.resampleLinear(x, from: samplingRate, to: sampleRate)
        }
        // z-score.
        if !x.isEmpty {
            let mean = x.reduce(0, +) / Double(x.count)
            var v = 0.0
            for s in x { v += (s - mean) * (s - mean) }
            let sd = (v / Double(x.count)).squareRoot()
            let inv = sd > 1e-8 ? 1 / sd : 0
            for i in 0..<x.count { x[i] = (x[i] - mean) * inv }
        }
        var out = [Float](repeating: 0, count: length)
        if x.count >= length {
            let start = (x.count - length) / 2
            for i in 0..<length { out[i] = Float(x[start + i]) }
        } else {
            for i in 0..<x.count { out[i] = Float(x[i]) }
        }
        return out
    }

    struct Biquad {
        var b0, b1, b2, a1, a2: Double
    }

    static func butterworthLowPass(cutoff: Double, rate: Double) -> Biquad {
        let k = tan(Double.pi * cutoff / rate)
        let q = 1 / 2.0.squareRoot()
        let norm = 1 / (1 + k / q + k * k)
        let b0 = k * k * norm
        return Biquad(b0: b0, b1: 2 * b0, b2: b0, a1: 2 * (k * k - 1) * norm, a2: (1 - k / q + k * k) * norm)
    }

    static func butterworthHighPass(cutoff: Double, rate: Double) -> Biquad {
        let k = tan(Double.pi * cutoff / rate)
        let q = 1 / 2.0.squareRoot()
        let norm = 1 / (1 + k / q + k * k)
        return Biquad(b0: norm, b1: -2 * norm, b2: norm, a1: 2 * (k * k - 1) * norm, a2: (1 - k / q + k * k) * norm)
    }

    static func filter(_ x: [Double], _ f: Biquad) -> [Double] {
        var y = [Double](repeating: 0, count: x.count)
        // Start in steady state for the first sample (avoids a step transient).
        let gainDC = (f.b0 + f.b1 + f.b2) / (1 + f.a1 + f.a2)
        let x0 = x.first ?? 0
        var x1 = x0, x2 = x0
        var y1 = x0 * gainDC, y2 = x0 * gainDC
        for i in 0..<x.count {
            let v = f.b0 * x[i] + f.b1 * x1 + f.b2 * x2 - f.a1 * y1 - f.a2 * y2
            x2 = x1
            x1 = x[i]
            y2 = y1
            y1 = v
            y[i] = v
        }
        return y
    }

    static func filtfilt(_ x: [Double], _ f: Biquad) -> [Double] {
        let forward = filter(x, f)
        return Array(filter(Array(forward.reversed()), f).reversed())
    }

    static func resampleLinear(_ x: [Double], from: Double, to: Double) -> [Double] {
        let n = Int((Double(x.count) * to / from).rounded())
        guard n > 0 else { return [] }
        var out = [Double](repeating: 0, count: n)
        for i in 0..<n {
            let t = Double(i) * from / to
            let j = Int(t)
            if j + 1 < x.count {
                let f = t - Double(j)
                out[i] = x[j] * (1 - f) + x[j + 1] * f
            } else {
                out[i] = x[min(j, x.count - 1)]
            }
        }
        return out
    }
}
