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
        let used = leads.filter { $0.count > 2 }
        let totals = Self.slopeTotals(used)
        for (x, total) in zip(used, totals) {
            let m = x.count
            let mean = Float(total / Double(m))
            guard mean > 0, mean.isFinite else { continue }
            let w = 1 / mean
            // energy[k] += d[k] × w with d[k] = (x[k+1] − x[k−1])², d[0] = d[1], d[m−1] = d[m−2].
            x.withUnsafeBufferPointer { s in
                energy.withUnsafeMutableBufferPointer { e in
                    guard let sb = s.baseAddress, let eb = e.baseAddress else { return }
                    let xs = UnsafeRawPointer(sb), es = UnsafeMutableRawPointer(eb)
                    let w8 = SIMD8<Float>(repeating: w)
                    var k = 1
                    while k + 8 <= m - 1 {
                        let v = xs.loadUnaligned(fromByteOffset: 4 * (k + 1), as: SIMD8<Float>.self) - xs.loadUnaligned(fromByteOffset: 4 * (k - 1), as: SIMD8<Float>.self)
                        let sum = es.loadUnaligned(fromByteOffset: 4 * k, as: SIMD8<Float>.self) + v * v * w8
                        es.storeBytes(of: sum, toByteOffset: 4 * k, as: SIMD8<Float>.self)
                        k += 8
                    }
                    while k < m - 1 {
                        let v = s[k + 1] - s[k - 1]
                        e[k] += v * v * w
                        k += 1
                    }
                    let first = s[2] - s[0], last = s[m - 1] - s[m - 3]
                    e[0] += first * first * w
                    e[m - 1] += last * last * w
                }
            }
        }
        return energy
    }

    /// Σ over k = 1 … m − 2 of Double((x[k+1] − x[k−1])²) per lead, in k order; leads of equal
    /// length four at a time in SIMD lanes (each lane the same sum: the additions of one lead no
    /// longer wait on each other's latency chain alone).
    static func slopeTotals(_ leads: [[Float]]) -> [Double] {
        var totals: [Double] = []
        totals.reserveCapacity(leads.count)
        var start = 0
        while start < leads.count {
            let m = leads[start].count
            var end = start + 1
            while end < leads.count, end - start < 4, leads[end].count == m { end += 1 }
            let members = Array(start..<end)
            start = end
            let lanes = members.map { leads[$0] } + [[Float]](repeating: leads[members[0]], count: 4 - members.count)
            let total = Filters.withElementPointers(lanes) { p in
                var total = SIMD4<Double>.zero
                var k = 1
                while k < m - 1 {
                    let v = SIMD4(p[0][k + 1], p[1][k + 1], p[2][k + 1], p[3][k + 1]) - SIMD4(p[0][k - 1], p[1][k - 1], p[2][k - 1], p[3][k - 1])
                    let d = v * v
                    total += SIMD4(Double(d[0]), Double(d[1]), Double(d[2]), Double(d[3]))
                    k += 1
                }
                return total
            }
            for l in members.indices { totals.append(total[l]) }
        }
        return totals
    }

    /// Running sums of `x` in double precision: c[0] = 0, c[k + 1] = c[k] + x[k].
    static func cumulativeSums(_ x: [Float]) -> [Double] {
        var cumulative = [Double](repeating: 0, count: x.count + 1)
        cumulative.withUnsafeMutableBufferPointer { c in
            x.withUnsafeBufferPointer { s in
                var running = 0.0
                for k in 0..<s.count {
                    running += Double(s[k])
                    c[k + 1] = running
                }
            }
        }
        return cumulative
    }

    /// Centred moving average of `x` over `width` samples.
    static func movingAverage(_ x: [Float], width: Int) -> [Float] {
        guard !x.isEmpty, width > 1 else { return x }
        return movingAverage(cumulative: cumulativeSums(x), width: width)
    }

    /// The centred moving average over `width` samples of the signal whose `cumulativeSums` are
    /// `cumulative` (at the ends, over the part of the window inside the signal).
    static func movingAverage(cumulative: [Double], width: Int) -> [Float] {
        let n = cumulative.count - 1
        guard n > 0 else { return [] }
        let half = width / 2
        return [Float](unsafeUninitializedCapacity: n) { out, initialized in
            cumulative.withUnsafeBufferPointer { c in
                // Windows cut by the ends; in between every window is `width` long.
                let interior0 = min(n, half), interior1 = max(interior0, n - width + half + 1)
                for part in [0..<interior0, interior1..<n] {
                    for k in part {
                        let a = max(0, k - half)
                        let b = min(n, k - half + width)
                        out[k] = Float((c[b] - c[a]) / Double(b - a))
                    }
                }
                let w = Double(width)
                var k = interior0
                while k < interior1 {
                    out[k] = Float((c[k &- half &+ width] - c[k &- half]) / w)
                    k &+= 1
                }
            }
            initialized = n
        }
    }

    /// Detects QRS complexes in `leads` (band-passed, same rate) and returns the fiducial sample indices.
    public func detect(_ leads: [[Float]], sampleRate fs: Double) -> [Int] {
        let energy = slopeEnergy(leads)
        let n = energy.count
        guard n > Int(0.3 * fs), fs > 0 else { return [] }
        let cumulative = Self.cumulativeSums(energy)
        let integrated = Self.movingAverage(cumulative: cumulative, width: max(2, Int(integrationWindow * fs)))
        let smoothed = Self.movingAverage(cumulative: cumulative, width: max(2, Int(0.02 * fs)))
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
