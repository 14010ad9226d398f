import ECGCore
import ECGFormats
import Foundation
import KMERLTestSupport
import Testing

@testable import KMERLModel

/// The session-4 training augmentations on a real PTB-XL lead, and the weighted lead-set draw.
@Suite struct AugmentationTests {
    /// Lead II of PTB-XL record 24, prepared as for training (100 Hz, z-scored, 1,000 samples).
    static func leadII() throws -> [Float] {
        let record = try ECGReader.read(try SharedData.url("ptbxl/records100/00000/00024_lr.hea"))
        let lead = try #require(record.signal(for: .ii))
        return LeadPreprocessor(sampleRate: 100, length: 1000).prepare(lead, samplingRate: record.samplingRate)
    }

    /// Lag (samples) of the highest autocorrelation between 0.4 and 1.5 s: the beat period.
    static func beatPeriod(_ x: [Float]) -> Int {
        let central = Array(x[150..<850])
        var best = (lag: 0, value: -Float.infinity)
        for lag in 40...150 {
            var s: Float = 0
            for t in 0..<(central.count - lag) { s += central[t] * central[t + lag] }
            s /= Float(central.count - lag)
            if s > best.value { best = (lag, s) }
        }
        return best.lag
    }

    @Test func stretchKeepsLengthScalesTheBeatPeriodAndIsIdentityAtOne() throws {
        let x = try Self.leadII()
        #expect(Augmentation.stretched(x, by: 1) == x)
        let period = Self.beatPeriod(x)
        #expect(period > 40 && period < 150)
        let slower = Augmentation.stretched(x, by: 1.1)
        let faster = Augmentation.stretched(x, by: 0.9)
        #expect(slower.count == x.count && faster.count == x.count)
        #expect(abs(Float(Self.beatPeriod(slower)) - 1.1 * Float(period)) <= 2)
        #expect(abs(Float(Self.beatPeriod(faster)) - 0.9 * Float(period)) <= 2)
        // Compressing pulls in samples from beyond the record's ends: zero there, signal inside.
        #expect(faster[0] == 0 && faster[999] == 0)
        #expect(faster[500] != 0)
        // Stretching stays inside the record: no zero-fill at the ends.
        #expect(abs(slower[0]) > 0 || abs(slower[1]) > 0)
    }

    @Test func noiseHasTheRequestedLevelAndIsDeterministicPerSeed() throws {
        let x = try Self.leadII()
        var a = SeededGenerator(seed: 11)
        var b = SeededGenerator(seed: 11)
        var c = SeededGenerator(seed: 12)
        let na = Augmentation.noisy(x, sigma: 0.2, rng: &a)
        #expect(na == Augmentation.noisy(x, sigma: 0.2, rng: &b))
        #expect(na != Augmentation.noisy(x, sigma: 0.2, rng: &c))
        let residual = zip(na, x).map { $0 - $1 }
        let mean = residual.reduce(0, +) / Float(residual.count)
        let sd = (residual.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(residual.count)).squareRoot()
        #expect(abs(sd - 0.2) < 0.02)
        #expect(abs(mean) < 0.03)
        var d = SeededGenerator(seed: 11)
        #expect(Augmentation.noisy(x, sigma: 0, rng: &d) == x)
        // sigma 0 draws nothing: the generator is where a fresh one of the same seed is.
        var e = SeededGenerator(seed: 11)
        #expect(d.next() == e.next())
    }

    @Test func mixupBlendsSignalsAndTargetsAndKeepsUnknownTargetsUnknown() throws {
        let record = try ECGReader.read(try SharedData.url("ptbxl/records100/00000/00024_lr.hea"))
        let pre = LeadPreprocessor(sampleRate: 100, length: 1000)
        let ii = pre.prepare(try #require(record.signal(for: .ii)), samplingRate: 100)
        let v5 = pre.prepare(try #require(record.signal(for: .v5)), samplingRate: 100)
        #expect(Augmentation.mixed(ii, v5, lambda: 1) == ii)
        let m = Augmentation.mixed(ii, v5, lambda: 0.75)
        #expect(m.count == ii.count)
        for t in [0, 123, 999] { #expect(abs(m[t] - (0.75 * ii[t] + 0.25 * v5[t])) < 1e-6) }
        let y = Augmentation.mixedTargets([1, 0, nil, 0.7], [0, 0, 1, 1], lambda: 0.75)
        #expect(y == [0.75, 0, nil, 0.775])
        #expect(Augmentation.mixedTargets([1, 1], [nil, 0], lambda: 0.6) == [nil, 0.6])
    }

    @Test func weightedLeadSetDrawFollowsTheWeights() {
        // No weights: exactly the shipped draw, same generator sequence.
        var a = SeededGenerator(seed: 3)
        var b = SeededGenerator(seed: 3)
        for _ in 0..<200 { #expect(LeadSets.sample(&a, weights: nil) == LeadSets.sample(&b)) }
        // All weight on lead I.
        var c = SeededGenerator(seed: 3)
        for _ in 0..<50 { #expect(LeadSets.sample(&c, weights: [0, 0, 0, 0, 0, 1, 0, 0]) == [.i]) }
        // 3:1 between all 12 and the two-lead set.
        var d = SeededGenerator(seed: 4)
        var twelve = 0
        var two = 0
        for _ in 0..<4000 {
            let s = LeadSets.sample(&d, weights: [3, 0, 0, 0, 1, 0, 0, 0])
            if s == StandardLead.allCases { twelve += 1 } else if s == LeadSets.two { two += 1 }
        }
        #expect(twelve + two == 4000)
        #expect(abs(Double(twelve) / 4000 - 0.75) < 0.03)
    }
}
