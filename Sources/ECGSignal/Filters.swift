import Foundation

/// One second-order IIR section (normalised so that a0 = 1), run in transposed direct form II.
public struct Biquad: Sendable, Hashable {
    public var b0: Double, b1: Double, b2: Double, a1: Double, a2: Double

    /// A section from its normalised coefficients.
    public init(b0: Double, b1: Double, b2: Double, a1: Double, a2: Double) {
        self.b0 = b0
        self.b1 = b1
        self.b2 = b2
        self.a1 = a1
        self.a2 = a2
    }

    /// Gain for a constant input (z = 1).
    var dcGain: Double {
        let den = 1 + a1 + a2
        return abs(den) < 1e-300 ? 0 : (b0 + b1 + b2) / den
    }

    /// RBJ low-pass section with quality factor `q`.
    static func lowpass(cutoff: Double, sampleRate: Double, q: Double) -> Biquad {
        let w = 2 * Double.pi * cutoff / sampleRate
        let alpha = sin(w) / (2 * q)
        let c = cos(w)
        let a0 = 1 + alpha
        return Biquad(b0: (1 - c) / 2 / a0, b1: (1 - c) / a0, b2: (1 - c) / 2 / a0, a1: -2 * c / a0, a2: (1 - alpha) / a0)
    }

    /// RBJ high-pass section with quality factor `q`.
    static func highpass(cutoff: Double, sampleRate: Double, q: Double) -> Biquad {
        let w = 2 * Double.pi * cutoff / sampleRate
        let alpha = sin(w) / (2 * q)
        let c = cos(w)
        let a0 = 1 + alpha
        return Biquad(b0: (1 + c) / 2 / a0, b1: -(1 + c) / a0, b2: (1 + c) / 2 / a0, a1: -2 * c / a0, a2: (1 - alpha) / a0)
    }

    /// RBJ notch section centred on `frequency` with quality factor `q`.
    static func notch(frequency: Double, sampleRate: Double, q: Double) -> Biquad {
        let w = 2 * Double.pi * frequency / sampleRate
        let alpha = sin(w) / (2 * q)
        let c = cos(w)
        let a0 = 1 + alpha
        return Biquad(b0: 1 / a0, b1: -2 * c / a0, b2: 1 / a0, a1: -2 * c / a0, a2: (1 - alpha) / a0)
    }
}

/// Zero-phase IIR filters for ECG leads (Butterworth cascades run forward and backward).
///
/// All functions are pure and NaN-safe: invalid samples (`NaN`, ±∞) are first bridged by linear
/// interpolation between the nearest valid neighbours (held constant at the ends), so one bad
/// sample never poisons a lead; the output is finite and has the input's length. A lead with no
/// valid sample comes back as zeros. The same functions serve training and inference.
public enum Filters {
    /// Butterworth sections (Q values) for an even order.
    static func butterworthQs(order: Int) -> [Double] {
        let n = max(2, order + order % 2)
        return (1...(n / 2)).map { k in 1 / (2 * cos(Double(2 * k - 1) * Double.pi / Double(2 * n))) }
    }

    /// Sections of a Butterworth low-pass of the given (even) order; empty when `cutoff` is at or above Nyquist.
    public static func lowpassSections(cutoff: Double, sampleRate: Double, order: Int = 2) -> [Biquad] {
        guard sampleRate > 0, cutoff > 0, cutoff < sampleRate * 0.49 else { return [] }
        return butterworthQs(order: order).map { Biquad.lowpass(cutoff: cutoff, sampleRate: sampleRate, q: $0) }
    }

    /// Sections of a Butterworth high-pass of the given (even) order; empty when `cutoff` is not usable.
    public static func highpassSections(cutoff: Double, sampleRate: Double, order: Int = 2) -> [Biquad] {
        guard sampleRate > 0, cutoff > 0, cutoff < sampleRate * 0.49 else { return [] }
        return butterworthQs(order: order).map { Biquad.highpass(cutoff: cutoff, sampleRate: sampleRate, q: $0) }
    }

    /// Zero-phase band-pass (Butterworth high-pass at `low` then low-pass at `high`, each order 2,
    /// run forward and backward: effective order 4 per edge). An edge at or above Nyquist is skipped.
    public static func bandpass(_ x: [Float], sampleRate: Double, low: Double, high: Double) -> [Float] {
        let sections = highpassSections(cutoff: low, sampleRate: sampleRate) + lowpassSections(cutoff: high, sampleRate: sampleRate)
        return filtfilt(x, sections: sections, sampleRate: sampleRate)
    }

    /// Zero-phase Butterworth low-pass.
    public static func lowpass(_ x: [Float], sampleRate: Double, cutoff: Double, order: Int = 2) -> [Float] {
        filtfilt(x, sections: lowpassSections(cutoff: cutoff, sampleRate: sampleRate, order: order), sampleRate: sampleRate)
    }

    /// Zero-phase Butterworth high-pass.
    public static func highpass(_ x: [Float], sampleRate: Double, cutoff: Double, order: Int = 2) -> [Float] {
        filtfilt(x, sections: highpassSections(cutoff: cutoff, sampleRate: sampleRate, order: order), sampleRate: sampleRate)
    }

    /// Removes baseline wander with a zero-phase 0.5 Hz (default) Butterworth high-pass.
    public static func removeBaselineWander(_ x: [Float], sampleRate: Double, cutoff: Double = 0.5) -> [Float] {
        highpass(x, sampleRate: sampleRate, cutoff: cutoff)
    }

    /// Removes power-line interference at `frequency` (50 or 60 Hz) and, when `harmonics` is set,
    /// its harmonics below Nyquist, with zero-phase notch sections of quality `q`.
    public static func notch(_ x: [Float], sampleRate: Double, frequency: Double, q: Double = 30, harmonics: Bool = false) -> [Float] {
        var sections: [Biquad] = []
        var f = frequency
        while f > 0, f < sampleRate * 0.49 {
            sections.append(.notch(frequency: f, sampleRate: sampleRate, q: q))
            if !harmonics { break }
            f += frequency
        }
        return filtfilt(x, sections: sections, sampleRate: sampleRate)
    }

    /// Replaces non-finite samples by linear interpolation between their valid neighbours (held
    /// at the ends). Returns the repaired samples and how many were replaced. All-invalid → zeros.
    public static func bridgingGaps(_ x: [Float]) -> (samples: [Float], replaced: Int) {
        var firstBad = -1
        for i in 0..<x.count where !x[i].isFinite {
            firstBad = i
            break
        }
        if firstBad < 0 { return (x, 0) }
        var y = x
        var replaced = 0
        var lastGood = -1
        var i = 0
        let n = y.count
        while i < n {
            if y[i].isFinite {
                lastGood = i
                i += 1
                continue
            }
            var j = i
            while j < n, !y[j].isFinite { j += 1 }
            replaced += j - i
            let left: Float? = lastGood >= 0 ? y[lastGood] : nil
            let right: Float? = j < n ? y[j] : nil
            for k in i..<j {
                switch (left, right) {
                case let (l?, r?):
                    let t = Float(k - lastGood) / Float(j - lastGood)
                    y[k] = l + (r - l) * t
                case let (l?, nil): y[k] = l
                case let (nil, r?): y[k] = r
                case (nil, nil): y[k] = 0
                }
            }
            i = j
        }
        return (y, replaced)
    }

    /// Runs `sections` forward then backward over `x` (zero phase), with odd-reflection padding of
    /// up to half a second (or the signal's length) and steady-state initial conditions, as scipy's
    /// `filtfilt` does. Non-finite samples are bridged first.
    public static func filtfilt(_ x: [Float], sections: [Biquad], sampleRate: Double) -> [Float] {
        let clean = bridgingGaps(x).samples
        let n = clean.count
        guard !sections.isEmpty, n > 1 else { return clean }
        let pad = min(n - 1, max(3, Int(sampleRate.isFinite ? 0.5 * sampleRate : 0)))
        let total = n + 2 * pad
        var buffer = [Double](repeating: 0, count: total)
        buffer.withUnsafeMutableBufferPointer { b in
            clean.withUnsafeBufferPointer { s in
                let first = Double(s[0])
                let last = Double(s[n - 1])
                for k in 0..<pad { b[k] = 2 * first - Double(s[pad - k]) }
                for k in 0..<n { b[pad + k] = Double(s[k]) }
                for k in 0..<pad { b[pad + n + k] = 2 * last - Double(s[n - 2 - k]) }
            }
            for section in sections { runForward(b, section) }
            for section in sections { runBackward(b, section) }
        }
        var out = [Float](repeating: 0, count: n)
        for k in 0..<n { out[k] = Float(buffer[pad + k]) }
        return out
    }

    /// `filtfilt` over several signals at once (same result as one call per signal). Signals of equal
    /// length are run four at a time in SIMD lanes: the recursive filter is latency-bound, and four
    /// independent lanes fill the pipeline.
    public static func filtfilt(many signals: [[Float]], sections: [Biquad], sampleRate: Double) -> [[Float]] {
        var out = [[Float]](repeating: [], count: signals.count)
        var byLength: [Int: [Int]] = [:]
        for (i, x) in signals.enumerated() { byLength[x.count, default: []].append(i) }
        for (n, members) in byLength {
            var start = 0
            while start < members.count {
                let group = Array(members[start..<min(start + 4, members.count)])
                start += 4
                if group.count == 1 || n < 2 || sections.isEmpty {
                    for i in group { out[i] = filtfilt(signals[i], sections: sections, sampleRate: sampleRate) }
                    continue
                }
                let lanes = group.map { bridgingGaps(signals[$0]).samples }
                let pad = min(n - 1, max(3, Int(sampleRate.isFinite ? 0.5 * sampleRate : 0)))
                let total = n + 2 * pad
                var buffer = [SIMD4<Double>](repeating: .zero, count: total)
                buffer.withUnsafeMutableBufferPointer { b in
                    // Lanes are stored as raw doubles: element k of lane l is at 4k + l.
                    let raw = UnsafeMutableRawPointer(b.baseAddress!).assumingMemoryBound(to: Double.self)
                    for (lane, x) in lanes.enumerated() {
                        x.withUnsafeBufferPointer { xs in
                            let first = Double(xs[0]), last = Double(xs[n - 1])
                            for k in 0..<pad { raw[4 * k + lane] = 2 * first - Double(xs[pad - k]) }
                            for k in 0..<n { raw[4 * (pad + k) + lane] = Double(xs[k]) }
                            for k in 0..<pad { raw[4 * (pad + n + k) + lane] = 2 * last - Double(xs[n - 2 - k]) }
                        }
                    }
                    for section in sections { runForward4(b, section) }
                    for section in sections { runBackward4(b, section) }
                    for (lane, i) in group.enumerated() {
                        out[i] = [Float](unsafeUninitializedCapacity: n) { y, initialized in
                            for k in 0..<n { y[k] = Float(raw[4 * (pad + k) + lane]) }
                            initialized = n
                        }
                    }
                }
            }
        }
        return out
    }

    @inline(__always)
    static func runForward4(_ b: UnsafeMutableBufferPointer<SIMD4<Double>>, _ s: Biquad) {
        let u = b[0]
        let yss = s.dcGain * u
        var z2 = s.b2 * u - s.a2 * yss
        var z1 = s.b1 * u - s.a1 * yss + z2
        let b0 = s.b0, b1 = s.b1, b2 = s.b2, a1 = s.a1, a2 = s.a2
        for k in 0..<b.count {
            let x = b[k]
            let y = b0 * x + z1
            z1 = b1 * x - a1 * y + z2
            z2 = b2 * x - a2 * y
            b[k] = y
        }
    }

    @inline(__always)
    static func runBackward4(_ b: UnsafeMutableBufferPointer<SIMD4<Double>>, _ s: Biquad) {
        let n = b.count
        let u = b[n - 1]
        let yss = s.dcGain * u
        var z2 = s.b2 * u - s.a2 * yss
        var z1 = s.b1 * u - s.a1 * yss + z2
        let b0 = s.b0, b1 = s.b1, b2 = s.b2, a1 = s.a1, a2 = s.a2
        var k = n - 1
        while k >= 0 {
            let x = b[k]
            let y = b0 * x + z1
            z1 = b1 * x - a1 * y + z2
            z2 = b2 * x - a2 * y
            b[k] = y
            k -= 1
        }
    }

    /// In-place forward pass of one section, starting from the steady state for the first sample.
    @inline(__always)
    static func runForward(_ b: UnsafeMutableBufferPointer<Double>, _ s: Biquad) {
        let u = b[0]
        let yss = s.dcGain * u
        var z2 = s.b2 * u - s.a2 * yss
        var z1 = s.b1 * u - s.a1 * yss + z2
        let b0 = s.b0, b1 = s.b1, b2 = s.b2, a1 = s.a1, a2 = s.a2
        for k in 0..<b.count {
            let x = b[k]
            let y = b0 * x + z1
            z1 = b1 * x - a1 * y + z2
            z2 = b2 * x - a2 * y
            b[k] = y
        }
    }

    /// In-place backward pass of one section, starting from the steady state for the last sample.
    @inline(__always)
    static func runBackward(_ b: UnsafeMutableBufferPointer<Double>, _ s: Biquad) {
        let n = b.count
        let u = b[n - 1]
        let yss = s.dcGain * u
        var z2 = s.b2 * u - s.a2 * yss
        var z1 = s.b1 * u - s.a1 * yss + z2
        let b0 = s.b0, b1 = s.b1, b2 = s.b2, a1 = s.a1, a2 = s.a2
        var k = n - 1
        while k >= 0 {
            let x = b[k]
            let y = b0 * x + z1
            z1 = b1 * x - a1 * y + z2
            z2 = b2 * x - a2 * y
            b[k] = y
            k -= 1
        }
    }
}
