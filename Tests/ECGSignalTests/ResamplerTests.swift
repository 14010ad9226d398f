import ECGSignal
import Foundation
import Testing

@Suite struct ResamplerTests {
    @Test func downsamplingIsAntiAliased() {
        // 180 Hz at 1 kHz → 250 Hz: above the new Nyquist, must vanish instead of folding to 70 Hz.
        let x = FiltersTests.sine(180, fs: 1000, seconds: 4)
        let y = Resampler.resample(x, from: 1000, to: 250)
        #expect(y.count == 1000)
        #expect(FiltersTests.rms(y[100..<900]) < 0.01)
        // 10 Hz survives.
        let tone = FiltersTests.sine(10, fs: 1000, seconds: 4)
        let z = Resampler.resample(tone, from: 1000, to: 250)
        let expected = FiltersTests.sine(10, fs: 250, seconds: 4)
        #expect(zip(z[100..<900], expected[100..<900]).allSatisfy { abs($0 - $1) < 0.02 })
    }

    @Test func upsamplingInterpolatesAnyRatio() {
        let x = FiltersTests.sine(3, fs: 360, seconds: 2)
        let y = Resampler.resample(x, from: 360, to: 500)
        #expect(y.count == 1000)
        let expected = FiltersTests.sine(3, fs: 500, seconds: 2)
        #expect(zip(y.dropLast(3), expected).allSatisfy { abs($0 - $1) < 0.002 })
    }

    @Test func edgeCases() {
        #expect(Resampler.resample([], from: 500, to: 100).isEmpty)
        #expect(Resampler.resample([2], from: 500, to: 100) == [2])
        #expect(Resampler.resample([1, 2, 3], from: 0, to: 100).isEmpty)
        let withNaN: [Float] = [0, .nan, 2, 3, 4, 5, 6, 7]
        #expect(Resampler.resample(withNaN, from: 8, to: 16).allSatisfy { $0.isFinite })
    }
}
