import ECGSignal
import Foundation
import Testing

@Suite struct FiltersTests {
    static func sine(_ f: Double, fs: Double, seconds: Double, amplitude: Float = 1) -> [Float] {
        (0..<Int(fs * seconds)).map { amplitude * Float(sin(2 * Double.pi * f * Double($0) / fs)) }
    }

    static func rms(_ x: ArraySlice<Float>) -> Double {
        (x.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(max(1, x.count))).squareRoot()
    }

    @Test func bandpassKeepsTheBandAndRemovesTheRest() {
        let fs = 500.0
        let inBand = Self.sine(10, fs: fs, seconds: 10)
        let drift = Self.sine(0.1, fs: fs, seconds: 10, amplitude: 5)
        let hum = Self.sine(100, fs: fs, seconds: 10)
        let mixed = (0..<inBand.count).map { inBand[$0] + drift[$0] + hum[$0] }
        let y = Filters.bandpass(mixed, sampleRate: fs, low: 0.5, high: 40)
        // Middle 8 s: the 10 Hz tone passes (±3 %), the drift and the 100 Hz tone are gone.
        let middle = 500..<4500
        let error = zip(y[middle], inBand[middle]).map { Double($0 - $1) }
        let errorRMS = (error.reduce(0) { $0 + $1 * $1 } / Double(error.count)).squareRoot()
        #expect(errorRMS < 0.04 * Self.rms(inBand[middle]))
        // Zero phase: the output peaks where the input peaks.
        #expect(abs(y[1025] - inBand[1025]) < 0.03)
    }

    @Test func notchRemovesMainsOnly() {
        let fs = 500.0
        let ecgLike = Self.sine(7, fs: fs, seconds: 6)
        let mains = Self.sine(50, fs: fs, seconds: 6, amplitude: 0.5)
        let y = Filters.notch(zip(ecgLike, mains).map { $0 + $1 }, sampleRate: fs, frequency: 50)
        let residual = zip(y, ecgLike).map { $0 - $1 }
        #expect(Self.rms(residual[500..<2500]) < 0.02)
        // 60 Hz at a 100 Hz rate is above Nyquist: the notch is skipped, the signal is unchanged.
        let low = Self.sine(5, fs: 100, seconds: 3)
        #expect(Filters.notch(low, sampleRate: 100, frequency: 60) == low)
    }

    @Test func baselineWanderRemovalLeavesAStepFreeSignal() {
        let fs = 250.0
        let offset = [Float](repeating: 3.5, count: 2500)
        let y = Filters.removeBaselineWander(offset, sampleRate: fs)
        #expect(y.allSatisfy { abs($0) < 1e-3 })
    }

    @Test func nanSamplesDoNotPoisonTheLead() {
        var x = Self.sine(5, fs: 500, seconds: 4)
        for k in 1000..<1010 { x[k] = .nan }
        x[0] = .nan
        x[x.count - 1] = .infinity
        let y = Filters.bandpass(x, sampleRate: 500, low: 0.5, high: 40)
        #expect(y.count == x.count)
        #expect(y.allSatisfy { $0.isFinite })
        let bridged = Filters.bridgingGaps(x)
        #expect(bridged.replaced == 12)
        #expect(bridged.samples[0] == x[1])
        let allBad = [Float](repeating: .nan, count: 100)
        #expect(Filters.lowpass(allBad, sampleRate: 100, cutoff: 10).allSatisfy { $0 == 0 })
    }

    @Test func tinyInputsAreReturnedSafely() {
        #expect(Filters.bandpass([], sampleRate: 500, low: 0.5, high: 40).isEmpty)
        #expect(Filters.bandpass([1.5], sampleRate: 500, low: 0.5, high: 40) == [1.5])
        #expect(Filters.bandpass([1, 2, 3], sampleRate: 500, low: 0.5, high: 40).count == 3)
    }

    @Test func batchedFilteringEqualsOneLeadAtATime() throws {
        let record = try TestRecords.ludb(5)
        var leads = record.leads.map(\.samples)
        leads[3][100] = .nan
        leads.append(Array(leads[0].prefix(3000)))  // a different length goes its own way
        let sections = Filters.highpassSections(cutoff: 0.5, sampleRate: 500) + Filters.lowpassSections(cutoff: 40, sampleRate: 500)
        let batched = Filters.filtfilt(many: leads, sections: sections, sampleRate: 500)
        #expect(batched.count == leads.count)
        for (k, lead) in leads.enumerated() {
            #expect(batched[k] == Filters.filtfilt(lead, sections: sections, sampleRate: 500), "lead \(k)")
        }
    }

    /// Every block size (1…13 leads of one length: one, two or three SIMD groups, partly filled, and
    /// a thirteenth lead on its own), one section or two, gives exactly the one-lead result.
    @Test func batchedFilteringEqualsOneLeadAtATimeForEveryBlockSize() throws {
        let record = try TestRecords.ludb(7)
        let base = record.leads.map { Array($0.samples.prefix(1500)) }
        let one = Filters.highpassSections(cutoff: 0.5, sampleRate: 500)
        let two = Filters.lowpassSections(cutoff: 40, sampleRate: 500, order: 4)
        for count in 1...13 {
            var leads = (0..<count).map { base[$0 % base.count].map { $0 * Float(1 + $0.magnitude) } }
            if count > 2 { leads[2][700] = .infinity }
            for sections in [one, two] {
                let batched = Filters.filtfilt(many: leads, sections: sections, sampleRate: 500)
                for (k, lead) in leads.enumerated() {
                    #expect(batched[k] == Filters.filtfilt(lead, sections: sections, sampleRate: 500), "\(count) leads, lead \(k)")
                }
            }
        }
        // Shorter than the padding and the chunk: two samples.
        let tiny: [[Float]] = [[1, 2], [3, -1], [0, 5]]
        let batched = Filters.filtfilt(many: tiny, sections: one + two, sampleRate: 500)
        for (k, lead) in tiny.enumerated() { #expect(batched[k] == Filters.filtfilt(lead, sections: one + two, sampleRate: 500)) }
    }

    @Test func allFiniteFindsEveryKindOfInvalidSample() {
        var x = [Float](repeating: 1, count: 37)
        #expect(Filters.allFinite(x))
        #expect(Filters.allFinite([]))
        for bad: Float in [.nan, .infinity, -.infinity, .signalingNaN] {
            for position in [0, 7, 8, 31, 32, 36] {
                x[position] = bad
                #expect(!Filters.allFinite(x), "\(bad) at \(position)")
                x[position] = -Float.greatestFiniteMagnitude
                #expect(Filters.allFinite(x))
            }
        }
    }
}
