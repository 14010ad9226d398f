import ECGCore
import ECGFormats
import Foundation
import KMERLTestSupport
import Testing

@testable import KMERLModel

@Suite struct PreprocessingTests {
    let pre = LeadPreprocessor(sampleRate: 100, length: 1000)

    @Test func ptbxlNormalizedLeadsAreOnlyRescaled() throws {
        let record = try ECGReader.read(try SharedData.url("ptbxl/records100/00000/00024_lr.hea"))
        #expect(record.samplingRate == 100)
        let lead = try #require(record.signal(for: .ii))
        #expect(lead.units == "NU")
        let x = pre.prepare(lead, samplingRate: record.samplingRate)
        #expect(x.count == 1000)
        // Pure z-score of the stored samples: correlation with the raw lead is 1.
        let raw = lead.samples.map(Double.init)
        let mean = raw.reduce(0, +) / Double(raw.count)
        let sd = (raw.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(raw.count)).squareRoot()
        for i in [0, 17, 500, 999] { #expect(abs(Double(x[i]) - (raw[i] - mean) / sd) < 1e-4) }
    }

    @Test func ludbMillivoltsAreBandpassedResampledAndZScored() throws {
        let record = try ECGReader.read(try SharedData.url("ludb/data/1.hea"))
        #expect(record.samplingRate == 500)
        let lead = try #require(record.signal(for: .i))
        let x = pre.prepare(lead, samplingRate: record.samplingRate)
        #expect(x.count == 1000)
        let mean = x.reduce(0, +) / Float(x.count)
        let variance = x.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(x.count)
        #expect(abs(mean) < 1e-3)
        #expect(abs(variance - 1) < 1e-3)
        // The 0.5 Hz high-pass removes baseline: the mean of each 2 s window stays near 0.
        for w in stride(from: 0, to: 1000, by: 200) {
            let m = x[w..<(w + 200)].reduce(0, +) / 200
            #expect(abs(m) < 0.5)
        }
        // Resampled, not truncated: 10 s at 500 Hz became 10 s at 100 Hz (the last samples carry signal).
        #expect(x[900..<1000].map { abs($0) }.max() ?? 0 > 0.05)
    }

    @Test func shortRecordsArePaddedAtTheEnd() {
        let lead = LeadSignal(lead: .standard(.i), writtenName: "I", samples: (0..<300).map { sin(Float($0) * 0.2) }, units: "NU")
        let x = pre.prepare(lead, samplingRate: 100)
        #expect(x.count == 1000)
        #expect(x[299] != 0)
        #expect(x[300..<1000].allSatisfy { $0 == 0 })
    }
}
