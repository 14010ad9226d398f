import Foundation

/// QRS detection fused over any number of leads (one is enough).
///
/// Each lead's band-passed signal is differentiated and squared; every lead's slope energy is
/// normalised by its mean so that each lead has the same weight, and the leads are summed. A
/// 120 ms moving-window integral of that energy is searched for peaks with Pan–Tompkins-style
/// adaptive signal/noise levels, a 200 ms refractory period, a T-wave check and search-back for
/// missed beats. Each beat's fiducial point is the maximum of the (lightly smoothed) fused slope
/// energy near the integral's peak: the steepest part of the QRS, stable from beat to beat.
public struct QRSDetector: Sendable {
    /// Moving-window integration width, seconds.
    public var integrationWindow: Double = 0.12
    /// Shortest allowed RR, seconds.
    public var refractoryPeriod: Double = 0.2

    /// A detector with default settings.
    public init() {}

    /// Fused slope energy of the leads (each normalised to mean 1), length = longest lead.
    public func slopeEnergy(_ leads: [[Float]]) -> [Float] {
        let n = leads.map(\.count).max() ?? 0
        var energy = [Float](repeating: 0, count: n)
        guard n > 2 else { return energy }
        var scratch = [Float](repeating: 0, count: n)
        for x in leads where x.count > 2 {
            let m = x.count
            var total: Double = 0
            x.withUnsafeBufferPointer { s in
                scratch.withUnsafeMutableBufferPointer { d in
                    for k in 1..<(m - 1) {
                        let v = s[k + 1] - s[k - 1]
                        d[k] = v * v
                        total += Double(d[k])
                    }
                    d[0] = d[1]
                    d[m - 1] = d[m - 2]
                }
            }
            let mean = Float(total / Double(m))
            guard mean > 0, mean.isFinite else { continue }
            let w = 1 / mean
            energy.withUnsafeMutableBufferPointer { e in
                scratch.withUnsafeBufferPointer { d in
                    for k in 0..<m { e[k] += d[k] * w }
                }
            }
        }
        return energy
    }

    /// Centred moving average of `x` over `width` samples.
    static func movingAverage(_ x: [Float], width: Int) -> [Float] {
        let n = x.count
        guard n > 0, width > 1 else { return x }
        var cumulative = [Double](repeating: 0, count: n + 1)
        for k in 0..<n { cumulative[k + 1] = cumulative[k] + Double(x[k]) }
        var out = [Float](repeating: 0, count: n)
        let half = width / 2
        for k in 0..<n {
            let a = max(0, k - half)
            let b = min(n, k - half + width)
            out[k] = Float((cumulative[b] - cumulative[a]) / Double(b - a))
        }
        return out
    }

    /// Detects QRS complexes in `leads` (band-passed, same rate) and returns the fiducial sample indices.
    public func detect(_ leads: [[Float]], sampleRate fs: Double) -> [Int] {
        let energy = slopeEnergy(leads)
        let n = energy.count
        guard n > Int(0.3 * fs), fs > 0 else { return [] }
        let integrated = Self.movingAverage(energy, width: max(2, Int(integrationWindow * fs)))
        let smoothed = Self.movingAverage(energy, width: max(2, Int(0.02 * fs)))
        let refractory = max(1, Int(refractoryPeriod * fs))
        // Candidate peaks: local maxima that dominate ±refractory.
        var candidates: [Int] = []
        integrated.withUnsafeBufferPointer { m in
            var k = 1
            while k < n - 1 {
                if m[k] > m[k - 1], m[k] >= m[k + 1] {
                    let lo = max(0, k - refractory)
                    let hi = min(n - 1, k + refractory)
                    var dominant = true
                    var j = lo
                    while j <= hi {
                        if m[j] > m[k] || (m[j] == m[k] && j < k) {
                            dominant = false
                            break
                        }
                        j += 1
                    }
                    if dominant {
                        candidates.append(k)
                        k += refractory
                        continue
                    }
                }
                k += 1
            }
        }
        guard !candidates.isEmpty else { return [] }
        // Adaptive thresholds, initialised on the first few seconds.
        // The initial signal level comes from the highest candidate of the first 3 s, unless that
        // one is more than twice the second-highest: one large (aberrant, ectopic) beat there
        // would set the threshold above the ordinary beats, which in an irregular rhythm (atrial
        // fibrillation) search-back does not always recover; then the second-highest.
        let initEnd = min(n, Int(3 * fs))
        var initialMean: Double = 0
        for k in 0..<initEnd { initialMean += Double(integrated[k]) }
        let early = candidates.filter { $0 < initEnd }.map { integrated[$0] }.sorted(by: >)
        let initialPeak: Float = early.count >= 2 && early[0] > 2 * early[1] ? early[1] : early.first ?? integrated[candidates[0]]
        initialMean /= Double(max(1, initEnd))
        var signalLevel = 0.5 * initialPeak
        var noiseLevel = Float(initialMean) * 0.5
        var accepted: [Int] = []
        var acceptedHeights: [Float] = []
        var rrAverage: Double = 0
        func threshold() -> Float { noiseLevel + 0.25 * (signalLevel - noiseLevel) }
        var index = 0
        while index < candidates.count {
            let c = candidates[index]
            let h = integrated[c]
            // Search back for a missed beat when the gap is long.
            if let last = accepted.last, rrAverage > 0, Double(c - last) > 1.66 * rrAverage {
                var best = -1
                var bestHeight: Float = 0
                for j in 0..<index {
                    let p = candidates[j]
                    if p > last + refractory, p < c - refractory, integrated[p] > 0.5 * threshold(), integrated[p] > bestHeight {
                        best = p
                        bestHeight = integrated[p]
                    }
                }
                if best >= 0 {
                    accepted.append(best)
                    acceptedHeights.append(bestHeight)
                    signalLevel = 0.25 * bestHeight + 0.75 * signalLevel
                    updateRR(&rrAverage, accepted)
                }
            }
            var isBeat = h > threshold()
            if isBeat, let last = accepted.last, let lastHeight = acceptedHeights.last {
                if c - last < refractory {
                    isBeat = false
                } else if Double(c - last) < 0.36 * fs, h < 0.4 * lastHeight {
                    isBeat = false  // most likely a T wave
                }
            }
            if isBeat {
                accepted.append(c)
                acceptedHeights.append(h)
                signalLevel = 0.125 * h + 0.875 * signalLevel
                updateRR(&rrAverage, accepted)
            } else {
                noiseLevel = 0.125 * h + 0.875 * noiseLevel
            }
            index += 1
        }
        // The record ends in a gap longer than search-back allows: look back into it as well.
        if let last = accepted.last, rrAverage > 0, Double(n - 1 - last) > 1.66 * rrAverage {
            var best = -1
            var bestHeight: Float = 0
            for p in candidates where p > last + refractory && p < n - refractory / 2 && integrated[p] > 0.5 * threshold() && integrated[p] > bestHeight {
                best = p
                bestHeight = integrated[p]
            }
            if best >= 0 {
                accepted.append(best)
                acceptedHeights.append(bestHeight)
            }
        }
        // Fiducial: maximum of the smoothed slope energy near the integral's peak.
        let reach = Int(0.08 * fs)
        var fiducials: [Int] = []
        fiducials.reserveCapacity(accepted.count)
        for c in accepted {
            var best = c
            var bestValue = -Float.infinity
            for k in max(0, c - reach)...min(n - 1, c + reach) where smoothed[k] > bestValue {
                bestValue = smoothed[k]
                best = k
            }
            if let last = fiducials.last, best - last < refractory / 2 { continue }
            fiducials.append(best)
        }
        return fiducials
    }

    private func updateRR(_ average: inout Double, _ beats: [Int]) {
        guard beats.count >= 2 else { return }
        let m = min(8, beats.count - 1)
        var intervals: [Int] = []
        for k in (beats.count - m)..<beats.count { intervals.append(beats[k] - beats[k - 1]) }
        average = Double(intervals.reduce(0, +)) / Double(m)
    }
}
