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
        if allFinite(x) { return (x, 0) }
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

    /// Whether every sample of `x` is finite (eight at a time: a float is ±∞ or NaN exactly when
    /// its exponent bits are all set, and then adding one to the exponent carries into the sign bit).
    public static func allFinite(_ x: [Float]) -> Bool {
        x.withUnsafeBufferPointer { b in
            guard let base = b.baseAddress else { return true }
            let raw = UnsafeRawPointer(base)
            let exponent = SIMD8<UInt32>(repeating: 0x7f80_0000), one = SIMD8<UInt32>(repeating: 0x0080_0000)
            var carry = SIMD8<UInt32>()
            var k = 0
            while k + 8 <= b.count {
                carry |= (raw.loadUnaligned(fromByteOffset: 4 * k, as: SIMD8<UInt32>.self) & exponent) &+ one
                k += 8
            }
            guard carry & SIMD8(repeating: 0x8000_0000) == .zero else { return false }
            while k < b.count {
                if !b[k].isFinite { return false }
                k += 1
            }
            return true
        }
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
    /// length are run in SIMD lanes, up to twelve at a time (up to three groups of four lanes
    /// interleaved in one loop): the recursive filter is latency-bound, and independent lanes fill
    /// the pipeline. Every lane does exactly the operations of the one-signal `filtfilt`, in the same
    /// order. The padded input is built, and the output taken, a cache-sized chunk at a time inside
    /// the first forward and the last backward pass, so the long lane-interleaved buffer is swept
    /// only once per pass.
    public static func filtfilt(many signals: [[Float]], sections: [Biquad], sampleRate: Double) -> [[Float]] {
        var out = [[Float]](repeating: [], count: signals.count)
        var byLength: [Int: [Int]] = [:]
        var lengths: [Int] = []  // in order of first appearance (the output does not depend on it)
        for (i, x) in signals.enumerated() {
            if byLength[x.count] == nil { lengths.append(x.count) }
            byLength[x.count, default: []].append(i)
        }
        for n in lengths {
            guard let members = byLength[n] else { continue }
            var start = 0
            while start < members.count {
                let block = Array(members[start..<min(start + Self.blockLanes, members.count)])
                start += Self.blockLanes
                if block.count == 1 || n < 2 || sections.isEmpty {
                    for i in block { out[i] = filtfilt(signals[i], sections: sections, sampleRate: sampleRate) }
                    continue
                }
                let lanes = block.map { bridgingGaps(signals[$0]).samples }
                let filtered = filtfiltLanes(lanes, count: n, sections: sections, sampleRate: sampleRate)
                for (m, i) in block.enumerated() { out[i] = filtered[m] }
            }
        }
        return out
    }

    /// Signals filtered together (at most 12).
    static let blockLanes = 12

    /// Rows of the lane-interleaved buffer handled per chunk (12 lanes × 8 bytes × 256 = 24 KiB).
    static let chunkRows = 256

    /// Calls `body` with the element buffers of every array in `arrays` (valid only inside `body`).
    static func withElementPointers<R>(_ arrays: [[Float]], _ body: ([UnsafeBufferPointer<Float>]) -> R) -> R {
        var pointers: [UnsafeBufferPointer<Float>] = []
        pointers.reserveCapacity(arrays.count)
        func nest(_ i: Int) -> R {
            guard i < arrays.count else { return body(pointers) }
            return arrays[i].withUnsafeBufferPointer { b in
                pointers.append(b)
                return nest(i + 1)
            }
        }
        return nest(0)
    }

    /// `count` new arrays of `length` elements each, which `body` must initialise through the buffers.
    static func makeArrays(_ count: Int, length: Int, _ body: ([UnsafeMutableBufferPointer<Float>]) -> Void) -> [[Float]] {
        var pointers: [UnsafeMutableBufferPointer<Float>] = []
        var arrays: [[Float]] = []
        func nest(_ i: Int) {
            guard i < count else {
                body(pointers)
                return
            }
            let array = [Float](unsafeUninitializedCapacity: length) { b, initialized in
                pointers.append(b)
                nest(i + 1)
                initialized = length
            }
            arrays.append(array)
        }
        nest(0)
        return arrays.reversed()  // the innermost (last) array is finished first
    }

    /// `filtfilt` of 2…12 gap-free signals of `n` ≥ 2 samples each.
    static func filtfiltLanes(_ lanes: [[Float]], count n: Int, sections: [Biquad], sampleRate: Double) -> [[Float]] {
        let groups = (lanes.count + 3) / 4
        let pad = min(n - 1, max(3, Int(sampleRate.isFinite ? 0.5 * sampleRate : 0)))
        let total = n + 2 * pad
        // Row k holds element k of every lane: lane m in group m / 4, SIMD lane m % 4. Unused lanes
        // of the last group repeat lane 0 (their results are dropped). Every row is written by the
        // first forward pass before it is read.
        var buffer = [SIMD4<Double>](unsafeUninitializedCapacity: total * groups) { _, initialized in initialized = total * groups }
        var chunk = [SIMD4<Double>](repeating: .zero, count: chunkRows * groups)
        return withElementPointers(lanes) { inputs in
            makeArrays(lanes.count, length: n) { outputs in
                buffer.withUnsafeMutableBufferPointer { bb in
                    chunk.withUnsafeMutableBufferPointer { cb in
                        guard let big = bb.baseAddress, let small = cb.baseAddress else { return }
                        // Forward: the padded input of rows [r0, r1) into the chunk, the first section
                        // from the chunk into the buffer, the other sections in place.
                        var state = FilterState()
                        var r0 = 0
                        while r0 < total {
                            let r1 = min(total, r0 + chunkRows)
                            let a = min(max(r0, pad), r1), b = min(max(r0, pad + n), r1)
                            for g in 0..<groups {
                                let m = 4 * g
                                let x0 = inputs[m], x1 = inputs[m + 1 < inputs.count ? m + 1 : 0]
                                let x2 = inputs[m + 2 < inputs.count ? m + 2 : 0], x3 = inputs[m + 3 < inputs.count ? m + 3 : 0]
                                func row(_ i: Int) -> SIMD4<Double> { SIMD4(Double(x0[i]), Double(x1[i]), Double(x2[i]), Double(x3[i])) }
                                let first = row(0), last = row(n - 1)
                                var q = small + g
                                for k in r0..<a {
                                    q.pointee = 2 * first - row(pad - k)
                                    q += groups
                                }
                                for k in a..<b {
                                    q.pointee = row(k - pad)
                                    q += groups
                                }
                                for k in b..<r1 {
                                    q.pointee = 2 * last - row(n - 2 - (k - pad - n))
                                    q += groups
                                }
                            }
                            if r0 == 0 { state = FilterState(sections[0], small, groups: groups) }
                            sweep(from: small, to: big + groups * r0, rows: r1 - r0, groups: groups, backward: false, sections[0], &state)
                            r0 = r1
                        }
                        for section in sections.dropFirst() {
                            state = FilterState(section, big, groups: groups)
                            sweep(from: big, to: big, rows: total, groups: groups, backward: false, section, &state)
                        }
                        // Backward: all sections but the last in place, the last from the buffer into
                        // the chunk, rows [r0, r1) from the end, and the output rows out of the chunk.
                        let end = big + groups * (total - 1)
                        for section in sections.dropLast() {
                            state = FilterState(section, end, groups: groups)
                            sweep(from: big, to: big, rows: total, groups: groups, backward: true, section, &state)
                        }
                        let lastSection = sections[sections.count - 1]
                        state = FilterState(lastSection, end, groups: groups)
                        var r1 = total
                        while r1 > 0 {
                            let r0 = max(0, r1 - chunkRows)
                            sweep(from: big + groups * r0, to: small, rows: r1 - r0, groups: groups, backward: true, lastSection, &state)
                            let lo = max(r0, pad), hi = min(r1, pad + n)
                            if lo < hi {
                                for g in 0..<groups {
                                    let m = 4 * g
                                    var q = UnsafePointer(small + (g + groups * (lo - r0)))
                                    let y0 = outputs[m]
                                    switch lanes.count - m {
                                    case 1:
                                        for k in (lo - pad)..<(hi - pad) {
                                            y0[k] = Float(q.pointee[0])
                                            q += groups
                                        }
                                    case 2:
                                        let y1 = outputs[m + 1]
                                        for k in (lo - pad)..<(hi - pad) {
                                            let v = q.pointee
                                            y0[k] = Float(v[0])
                                            y1[k] = Float(v[1])
                                            q += groups
                                        }
                                    case 3:
                                        let y1 = outputs[m + 1], y2 = outputs[m + 2]
                                        for k in (lo - pad)..<(hi - pad) {
                                            let v = q.pointee
                                            y0[k] = Float(v[0])
                                            y1[k] = Float(v[1])
                                            y2[k] = Float(v[2])
                                            q += groups
                                        }
                                    default:
                                        let y1 = outputs[m + 1], y2 = outputs[m + 2], y3 = outputs[m + 3]
                                        for k in (lo - pad)..<(hi - pad) {
                                            let v = q.pointee
                                            y0[k] = Float(v[0])
                                            y1[k] = Float(v[1])
                                            y2[k] = Float(v[2])
                                            y3[k] = Float(v[3])
                                            q += groups
                                        }
                                    }
                                }
                            }
                            r1 = r0
                        }
                    }
                }
            }
        }
    }

    /// The (z1, z2) states of up to three groups of four lanes.
    struct FilterState {
        var z1 = (SIMD4<Double>.zero, SIMD4<Double>.zero, SIMD4<Double>.zero)
        var z2 = (SIMD4<Double>.zero, SIMD4<Double>.zero, SIMD4<Double>.zero)

        init() {}

        /// Steady state of `s` for the constant input in row `row` (scipy's `lfilter_zi`).
        init(_ s: Biquad, _ row: UnsafePointer<SIMD4<Double>>, groups: Int) {
            (z1.0, z2.0) = initialState(s, row[0])
            if groups > 1 { (z1.1, z2.1) = initialState(s, row[1]) }
            if groups > 2 { (z1.2, z2.2) = initialState(s, row[2]) }
        }

        init(_ s: Biquad, _ row: UnsafeMutablePointer<SIMD4<Double>>, groups: Int) {
            self.init(s, UnsafePointer(row), groups: groups)
        }
    }

    /// Steady-state initial conditions (z1, z2) of `s` for a constant input `u`.
    @inline(__always)
    static func initialState(_ s: Biquad, _ u: SIMD4<Double>) -> (SIMD4<Double>, SIMD4<Double>) {
        let yss = s.dcGain * u
        let z2 = s.b2 * u - s.a2 * yss
        let z1 = s.b1 * u - s.a1 * yss + z2
        return (z1, z2)
    }

    /// One section over `rows` lane-interleaved rows of `groups` SIMD4 groups from `source` to
    /// `destination` (the same buffer or another), forward or backward, continuing from `state`.
    static func sweep(
        from source: UnsafePointer<SIMD4<Double>>, to destination: UnsafeMutablePointer<SIMD4<Double>>, rows: Int, groups: Int, backward: Bool,
        _ s: Biquad, _ state: inout FilterState
    ) {
        let b0 = s.b0, b1 = s.b1, b2 = s.b2, a1 = s.a1, a2 = s.a2
        switch groups {
        case 1:
            var z1 = state.z1.0, z2 = state.z2.0
            for i in 0..<rows {
                let k = backward ? rows - 1 - i : i
                let x = source[k]
                let y = b0 * x + z1
                z1 = b1 * x - a1 * y + z2
                z2 = b2 * x - a2 * y
                destination[k] = y
            }
            state.z1.0 = z1
            state.z2.0 = z2
        case 2:
            var z1a = state.z1.0, z2a = state.z2.0, z1b = state.z1.1, z2b = state.z2.1
            for i in 0..<rows {
                let k = 2 * (backward ? rows - 1 - i : i)
                let xa = source[k], xb = source[k + 1]
                let ya = b0 * xa + z1a, yb = b0 * xb + z1b
                z1a = b1 * xa - a1 * ya + z2a
                z1b = b1 * xb - a1 * yb + z2b
                z2a = b2 * xa - a2 * ya
                z2b = b2 * xb - a2 * yb
                destination[k] = ya
                destination[k + 1] = yb
            }
            state.z1.0 = z1a
            state.z2.0 = z2a
            state.z1.1 = z1b
            state.z2.1 = z2b
        default:
            var z1a = state.z1.0, z2a = state.z2.0, z1b = state.z1.1, z2b = state.z2.1, z1c = state.z1.2, z2c = state.z2.2
            for i in 0..<rows {
                let k = 3 * (backward ? rows - 1 - i : i)
                let xa = source[k], xb = source[k + 1], xc = source[k + 2]
                let ya = b0 * xa + z1a, yb = b0 * xb + z1b, yc = b0 * xc + z1c
                z1a = b1 * xa - a1 * ya + z2a
                z1b = b1 * xb - a1 * yb + z2b
                z1c = b1 * xc - a1 * yc + z2c
                z2a = b2 * xa - a2 * ya
                z2b = b2 * xb - a2 * yb
                z2c = b2 * xc - a2 * yc
                destination[k] = ya
                destination[k + 1] = yb
                destination[k + 2] = yc
            }
            state.z1.0 = z1a
            state.z2.0 = z2a
            state.z1.1 = z1b
            state.z2.1 = z2b
            state.z1.2 = z1c
            state.z2.2 = z2c
        }
    }

    static func sweep(
        from source: UnsafeMutablePointer<SIMD4<Double>>, to destination: UnsafeMutablePointer<SIMD4<Double>>, rows: Int, groups: Int, backward: Bool,
        _ s: Biquad, _ state: inout FilterState
    ) {
        sweep(from: UnsafePointer(source), to: destination, rows: rows, groups: groups, backward: backward, s, &state)
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
