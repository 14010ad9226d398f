import ECGCore
import ECGSignal
import Foundation

/// Brings any lead to the form the encoder was trained on: the shared PTB-XL copies were
/// band-passed 0.5–40 Hz, z-scored per lead and sampled at 100 Hz. Leads in physical units
/// (mV, µV …) are band-passed at their own rate (`Filters.bandpass`, zero-phase Butterworth
/// 0.5–40 Hz), resampled to the model rate (`Resampler.resample`, anti-aliased), then z-scored;
/// leads already in normalized units (`NU`) are only resampled and z-scored. Invalid samples
/// (NaN) are bridged linearly. The result is cut to the centre window or padded at the end to `length`.
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
        // NaN gaps are bridged linearly before filtering (ECGSignal's `Filters.bridgingGaps`).
        var x = Filters.bridgingGaps(signal.samples).samples.map { $0.isFinite ? $0 : 0 }
        let normalized = signal.units.trimmingWhitespace().uppercased() == "NU"
        if !normalized && samplingRate > 0 && x.count > 8 {
            x = Filters.bandpass(x, sampleRate: samplingRate, low: 0.5, high: 40)
        }
        if samplingRate > 0 && abs(samplingRate - sampleRate) > 1e-6 && !x.isEmpty {
            x = Resampler.resample(x, from: samplingRate, to: sampleRate)
        }
        var d = x.map(Double.init)
        if !d.isEmpty {
            let mean = d.reduce(0, +) / Double(d.count)
            var v = 0.0
            for s in d { v += (s - mean) * (s - mean) }
            let sd = (v / Double(d.count)).squareRoot()
            let inv = sd > 1e-8 ? 1 / sd : 0
            for i in 0..<d.count { d[i] = (d[i] - mean) * inv }
        }
        var out = [Float](repeating: 0, count: length)
        if d.count >= length {
            let start = (d.count - length) / 2
            for i in 0..<length { out[i] = Float(d[start + i]) }
        } else {
            for i in 0..<d.count { out[i] = Float(d[i]) }
        }
        return out
    }
}
