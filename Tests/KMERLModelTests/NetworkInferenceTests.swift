import ECGCore
import ECGFormats
import Foundation
import KMERLTestSupport
import Testing

@testable import KMERLModel

/// `Network.embedECG` (the inference pass behind `embed`) must compute what the training forward
/// pass `forwardECG` computes — the same bits — for the shipped model on real records and for other
/// architectures.
@Suite struct NetworkInferenceTests {
    static func maxDifference(_ a: [RecordEmbedding], _ b: [RecordEmbedding]) -> Float {
        var worst: Float = 0
        for (x, y) in zip(a, b) {
            #expect(x.record.count == y.record.count)
            #expect(Set(x.perLead.keys) == Set(y.perLead.keys))
            for (u, v) in zip(x.record, y.record) { worst = max(worst, abs(u - v)) }
            for (lead, u) in x.perLead {
                for (p, q) in zip(u, y.perLead[lead] ?? []) { worst = max(worst, abs(p - q)) }
            }
        }
        return worst
    }

    @Test func defaultModelInferenceMatchesTrainingForwardOnRealRecords() throws {
        let model = try KMERLEncoderModel.load(contentsOf: SharedData.projectRoot.appendingPathComponent("Models/kmerl-default.safetensors"))
        let root = try SharedData.url("ptbxl/records100/00000")
        let headers = try FileManager.default.contentsOfDirectory(at: root, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "hea" }.sorted { $0.path < $1.path }.prefix(12)
        let prepared = try headers.map { model.preparedLeads(try ECGReader.read($0)) }
        #expect(prepared.count == 12 && prepared.allSatisfy { $0.count == 12 })
        // Full records, lead subsets and a record without leads, in one batch.
        var batch = prepared
        batch.append(prepared[0].filter { $0.0 == .i })
        batch.append(prepared[1].filter { [.i, .ii, .v2].contains($0.0) })
        batch.append([])
        batch.append(Array(prepared[2].reversed()))
        for perLead in [true, false] {
            let fast = model.embed(prepared: batch, perLead: perLead, inferencePath: true)
            let reference = model.embed(prepared: batch, perLead: perLead, inferencePath: false)
            #expect(fast.count == batch.count)
            #expect(fast[batch.count - 2].record.isEmpty && fast[batch.count - 2].perLead.isEmpty)
            #expect(fast[0].perLead.count == (perLead ? 12 : 0))
            let worst = Self.maxDifference(fast, reference)
            #expect(worst == 0, "largest difference \(worst)")
        }
    }

    @Test func inferenceMatchesTrainingForwardWithStemNormAndTwoBlocks() throws {
        var config = EncoderConfiguration()
        config.length = 300
        config.convChannels = [8, 12, 20]
        config.convKernels = [7, 5, 3]
        config.convStrides = [3, 2, 2]
        config.convPaddings = [2, 2, 1]
        config.convNorm = true
        config.width = 24
        config.heads = 3
        config.layers = 2
        config.mlpWidth = 40
        config.embeddingWidth = 10
        let model = try KMERLEncoderModel.untrained(configuration: config, seed: 5)
        var rng = SeededGenerator(seed: 9)
        let records: [[(StandardLead, [Float])]] = [[.i, .ii, .v2], [.v6], [.aVF, .v1]].map { leads in
            leads.map { lead in (lead, (0..<(config.length - 17)).map { _ in rng.nextGaussian() }) }
        }
        let fast = model.embed(prepared: records, perLead: true, inferencePath: true)
        let reference = model.embed(prepared: records, perLead: true, inferencePath: false)
        let worst = Self.maxDifference(fast, reference)
        #expect(worst == 0, "largest difference \(worst)")
        #expect(fast[0].perLead.count == 3 && fast[1].perLead.count == 1)
    }
}
