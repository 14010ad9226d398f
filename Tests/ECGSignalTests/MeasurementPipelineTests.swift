import ECGCore
import ECGFormats
import ECGSignal
import Foundation
import KMERLTestSupport
import Testing

@Suite struct MeasurementPipelineTests {
    @Test func delineationOnLUDB() throws {
        let pipeline = MeasurementPipeline()
        var total = DelineationScore()
        for n in 1...100 {
            let record = try TestRecords.ludb(n)
            let m = pipeline.measure(record)
            for (index, lead) in record.leads.enumerated() {
                guard let std = lead.lead.standardLead else { continue }
                let waves = try TestRecords.ludbWaves(n, lead: TestRecords.ludbSuffix(std))
                let reference = waves.map { ReferenceWave(kind: $0.kind, onset: $0.onset, peak: $0.peak, offset: $0.offset) }
                let detected = DelineationScore.detectedPositions(beats: m.beats, boundaries: m.leads[index].boundaries, sampleRate: 500)
                total.add(reference: reference, detected: detected, sampleRate: 500)
            }
        }
        print(total.table(title: "kmerl delineation, LUDB 1-100, 12 leads"))
    }
}
