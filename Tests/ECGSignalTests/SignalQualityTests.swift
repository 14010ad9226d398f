import ECGCore
@testable import ECGSignal
import Foundation
import Testing

/// Bad input: each case must give a clear per-lead status and never crash.
@Suite struct SignalQualityTests {
    /// Lead II of LUDB record 1 at its native 500 Hz.
    static func realLead() throws -> LeadSignal {
        try #require(try TestRecords.ludb(1).signal(for: .ii))
    }

    static func record(_ leads: [LeadSignal], rate: Double = 500, id: String = "test") -> ECGRecord {
        ECGRecord(id: id, samplingRate: rate, leads: leads, sourceFormat: .other)
    }

    @Test func allZeroLeadIsFlatAndTheOthersAreMeasured() throws {
        let ii = try Self.realLead()
        var zero = ii
        zero.lead = .standard(.v1)
        zero.samples = [Float](repeating: 0, count: ii.samples.count)
        let m = MeasurementPipeline().measure(Self.record([ii, zero]))
        #expect(m.leads[0].status == .ok)
        #expect(m.leads[1].status == .notAnalysable)
        #expect(m.leads[1].reasons.contains("flat line"))
        #expect(m.leads[1].quality == 0)
        #expect(m.leads[1].rAmplitude == nil)
        #expect(abs((m.heartRate ?? 0) - 45.7) < 2)  // record 1: sinus bradycardia
    }

    @Test func nanSamplesAreBridgedOrRejected() throws {
        var ii = try Self.realLead()
        for k in 2000..<2050 { ii.samples[k] = .nan }
        var mostlyMissing = ii
        mostlyMissing.lead = .standard(.i)
        for k in 0..<3000 { mostlyMissing.samples[k] = .nan }
        let m = MeasurementPipeline().measure(Self.record([ii, mostlyMissing]))
        #expect(m.leads[0].status == .ok)
        #expect(m.leads[0].reasons.contains { $0.contains("50 invalid samples bridged") })
        #expect(m.leads[1].status == .notAnalysable)
        #expect(m.leads[1].reasons.contains { $0.hasPrefix("missing samples") })
        #expect(m.heartRate != nil)
        let allNaN = LeadSignal(lead: .standard(.ii), writtenName: "II", samples: [Float](repeating: .nan, count: 5000), units: "mV")
        let n = MeasurementPipeline().measure(Self.record([allNaN]))
        #expect(n.leads[0].status == .notAnalysable)
        #expect(n.leads[0].reasons == ["no valid samples"])
        #expect(n.heartRate == nil)
    }

    @Test func tooShortRecords() throws {
        let ii = try Self.realLead()
        for count in [0, 1, 999] {
            var short = ii
            short.samples = Array(ii.samples.prefix(count))
            let m = MeasurementPipeline().measure(Self.record([short]))
            #expect(m.leads[0].status == .notAnalysable)
            #expect(m.leads[0].reasons.first?.hasPrefix("too short") == true)
            #expect(m.heartRate == nil && m.qrsDuration == nil && m.beats.isEmpty)
        }
        // Exactly 2 s is enough: two or three beats at 46 bpm.
        var twoSeconds = ii
        twoSeconds.samples = Array(ii.samples[1000..<2000])
        let m = MeasurementPipeline().measure(Self.record([twoSeconds]))
        #expect(m.leads[0].status == .ok)
        #expect(m.beats.count >= 1)
    }

    @Test func clippedAndNoisyLeads() throws {
        let ii = try Self.realLead()
        var clipped = ii
        clipped.lead = .standard(.i)
        clipped.samples = ii.samples.map { min($0, 0.05) }
        var noisy = ii
        noisy.lead = .standard(.iii)
        var state: UInt64 = 12345
        noisy.samples = ii.samples.map { v in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return v + Float(Double(state >> 11) / Double(1 << 53) - 0.5) * 4
        }
        let m = MeasurementPipeline().measure(Self.record([ii, clipped, noisy]))
        #expect(m.leads[0].status == .ok)
        #expect(m.leads[1].status == .notAnalysable)
        #expect(m.leads[1].reasons.contains { $0.hasPrefix("clipping") })
        #expect(m.leads[2].status == .notAnalysable)
        #expect(m.leads[2].reasons.contains { $0.hasPrefix("high-frequency noise") })
    }

    @Test func baselineDriftLowersQualityOrRejects() throws {
        let ii = try Self.realLead()
        var drifting = ii
        drifting.samples = ii.samples.enumerated().map { k, v in v + 20 * Float(sin(2 * Double.pi * 0.15 * Double(k) / 500)) }
        let m = MeasurementPipeline().measure(Self.record([drifting]))
        #expect(m.leads[0].status == .notAnalysable)
        #expect(m.leads[0].reasons.contains { $0.hasPrefix("baseline drift") })
    }

    @Test func otherRatesAndLongRecords() throws {
        let ii = try Self.realLead()
        let reference = MeasurementPipeline().measure(Self.record([ii]))
        let hr = try #require(reference.heartRate)
        for rate in [1000.0, 100.0, 360.0] {
            var lead = ii
            lead.samples = Resampler.resample(ii.samples, from: 500, to: rate)
            let m = MeasurementPipeline().measure(Self.record([lead], rate: rate))
            #expect(m.leads[0].status == .ok, "\(rate) Hz")
            #expect(abs((m.heartRate ?? 0) - hr) < 1, "\(rate) Hz: \(String(describing: m.heartRate)) vs \(hr)")
            if let q = m.qrsDuration, let q0 = reference.qrsDuration { #expect(abs(q - q0) <= 20, "\(rate) Hz QRS \(q) vs \(q0)") }
        }
        // 60 minutes at 500 Hz: the 10-s record repeated 360 times.
        var long = ii
        long.samples = Array([[Float]](repeating: ii.samples, count: 360).joined())
        let clock = ContinuousClock()
        var m = RecordMeasurements(record: "")
        let elapsed = clock.measure { m = MeasurementPipeline().measure(Self.record([long])) }
        #expect(m.leads[0].status == .ok)
        #expect(abs((m.heartRate ?? 0) - hr) < 3)
        #expect(elapsed < .seconds(20))
    }

    @Test func nonVoltageUnitsGetTimingButNoAmplitudes() throws {
        var ii = try Self.realLead()
        ii.units = "NU"
        let m = MeasurementPipeline().measure(Self.record([ii]))
        #expect(m.leads[0].status == .ok)
        #expect(m.heartRate != nil && m.qrsDuration != nil)
        #expect(m.leads[0].rAmplitude == nil && m.leads[0].stJ60 == nil && m.qrsAxis == nil)
    }

    @Test func invalidSamplingRate() {
        let lead = LeadSignal(lead: .standard(.ii), writtenName: "II", samples: [1, 2, 3], units: "mV")
        let m = MeasurementPipeline().measure(Self.record([lead], rate: 0))
        #expect(m.leads[0].status == .notAnalysable)
        #expect(m.leads[0].reasons.first?.contains("sampling rate") == true)
    }
}

@Suite struct MedianBeatTests {
    @Test func medianBeatsAreKeptOnRequest() throws {
        let record = try TestRecords.ludb(2)
        var pipeline = MeasurementPipeline()
        #expect(pipeline.measure(record).leads[1].medianBeat == nil)
        pipeline.keepMedianBeats = true
        let m = pipeline.measure(record)
        let fiducial = try #require(m.medianBeatFiducial)
        let beat = try #require(m.leads[1].medianBeat)  // lead II
        #expect(beat.count == 576)  // 0.45 s before + 0.70 s after the fiducial at 500 Hz, inclusive
        // Record 2, lead II: an upright QRS of about 1 mV peaks within 30 ms of the fiducial.
        let window = (fiducial - 15)...(fiducial + 15)
        let peak = try #require(window.map { beat[$0] }.max())
        #expect(peak > 0.5 && peak < 2.5)
        #expect(abs(Double(peak) - (m.leads[1].rAmplitude ?? 0)) < 0.15)
    }

    /// The selection behind the quality percentiles gives what a full sort would, for every rank,
    /// near the ends (kept extremes) and in the middle (quickselect), with ties and signed zeros.
    @Test func orderStatisticsEqualTheSortedValues() {
        var generator = SystemRandomNumberGenerator()
        for count in [1, 2, 3, 17, 40, 251] {
            for round in 0..<3 {
                let values: [Float] = (0..<count).map { k in
                    round == 0 ? Float.random(in: -5...5, using: &generator) : round == 1 ? Float(Int.random(in: -3...3, using: &generator)) : (k % 2 == 0 ? 0 : -0.0)
                }
                let sorted = values.sorted()
                for k in 0..<count {
                    var copy = values
                    let v = copy.withUnsafeMutableBufferPointer { SignalQualityAssessor.orderStatistic($0, k) }
                    #expect(v == sorted[k], "count \(count), rank \(k)")
                }
            }
        }
        let x = (0..<5000).map { Float(sin(Double($0) * 0.37)) * Float($0 % 7) }
        let sample = stride(from: 0, to: 5000, by: 20).map { x[$0] }.sorted()
        #expect(SignalQualityAssessor.percentileSpread(x, low: 0.01, high: 0.99) == sample[247] - sample[2])
    }
}
