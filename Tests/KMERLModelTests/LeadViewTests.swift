import ECGCore
import ECGFormats
import Foundation
import KMERLTestSupport
import Testing

@testable import KMERLModel

/// The lead-view mixture (`KMERLEncoderModel.leadViewWeight`): a record's concept logit mixed with
/// the mean of its present leads' own logits, on the shipped model and real records.
@Suite struct LeadViewTests {
    /// The raw logit of `text` for `embedding` by the documented formula, from the model's pieces.
    static func expectedLogit(_ model: KMERLEncoderModel, _ embedding: RecordEmbedding, _ text: [Float], weight: Double) -> Double {
        func logit(_ v: [Float]) -> Double {
            var cosine: Float = 0
            for i in v.indices { cosine += v[i] * text[i] }
            return model.logit(similarity: Double(cosine), text: text)
        }
        let leads = StandardLead.allCases.compactMap { embedding.perLead[$0] }.map(logit)
        guard !leads.isEmpty else { return logit(embedding.record) }
        return (1 - weight) * logit(embedding.record) + weight * leads.reduce(0, +) / Double(leads.count)
    }

    @Test func scoringMixesTheRecordWithItsLeadsOwnViews() throws {
        let shipped = try DefaultModelTests.model()
        let mixed = shipped.with(calibrations: shipped.calibrations, global: shipped.globalCalibration, leadViewWeight: 0.5)
        #expect(mixed.version != shipped.version && mixed.version.contains("-lv0.5/"))
        let queries = [ConceptQuery(id: "CLBBB", text: "complete left bundle branch block"), ConceptQuery(id: "MI", text: "myocardial infarction")]
        let full = try ECGReader.read(try SharedData.url("ludb/data/8.hea"))
        for leads: Set<StandardLead> in [[.ii, .v1], Set(StandardLead.allCases)] {
            let embedding = mixed.embed(full.keeping(leads))
            let table = try #require(mixed.scoreTable(embedding, prepared: mixed.prepare(queries)))
            let plain = try #require(shipped.scoreTable(embedding, prepared: shipped.prepare(queries)))
            for (k, query) in queries.enumerated() {
                let calibration = mixed.calibrations[query.id] ?? mixed.globalCalibration
                let expected = calibration.probability(Self.expectedLogit(mixed, embedding, mixed.embedText(query.text), weight: 0.5))
                #expect(abs(table.probability[k] - expected) < 1e-12, "\(query.id) from \(leads.count) leads")
                // The mixture moves the record's score, not the per-lead ones nor the similarity.
                #expect(table.probability[k] != plain.probability[k])
                #expect(table.similarity[k] == plain.similarity[k])
                #expect(Array(table.leadProbabilities(of: k)).map(\.bitPattern) == Array(plain.leadProbabilities(of: k)).map(\.bitPattern))
            }
        }
        // One lead: the record and its only lead are the same view, so the mixture changes nothing.
        let single = mixed.embed(full.keeping([.i]))
        let a = try #require(mixed.scoreTable(single, prepared: mixed.prepare(queries)))
        let b = try #require(shipped.scoreTable(single, prepared: shipped.prepare(queries)))
        for k in queries.indices { #expect(abs(a.probability[k] - b.probability[k]) < 1e-9) }
    }

    /// Calibration is fitted on `Evaluator.logits`, scoring applies it to `scoreTable`'s logit: both
    /// must be the same mixture, or the probabilities would be calibrated for another score.
    @Test func evaluatorLogitsAreTheLogitsScoringCalibrates() async throws {
        let shipped = try DefaultModelTests.model()
        let mixed = shipped.uncalibrated(leadViewWeight: 0.5)
        #expect(mixed.calibrations.isEmpty && mixed.globalCalibration == .identity && mixed.leadViewWeight == 0.5)
        let (samples, _, entities) = try DistillationTests.samples(mixed, count: 8)
        let queries = entities.map { ConceptQuery(id: $0.id, text: $0.text) }
        for leads in [StandardLead.allCases, [.i, .ii, .v2]] {
            let logits = await Evaluator(model: mixed).logits(samples: samples, leads: leads, concepts: entities)
            let before = await Evaluator(model: shipped).logits(samples: samples, leads: leads, concepts: entities)
            #expect(logits != before)
            for (sample, row) in zip(samples, logits) {
                let view = leads.compactMap { l in sample.leads[l].map { (l, $0) } }
                let embedding = mixed.embed(prepared: [view])[0]
                #expect(embedding.perLead.count == leads.count)
                let table = try #require(mixed.scoreTable(embedding, prepared: mixed.prepare(queries)))
                for k in entities.indices {
                    // Identity calibration: the probability is the sigmoid of the very logit.
                    #expect(abs(table.probability[k] - 1 / (1 + exp(-row[k]))) < 1e-9, "\(entities[k].id)")
                }
            }
        }
    }

    @Test func theWeightIsStoredAndCheckedInTheFile() throws {
        let model = try KMERLEncoderModel.untrained(configuration: NetworkTests.tiny, seed: 3)
        #expect(model.leadViewWeight == 0)
        // The version names a stem geometry other than the shipped one; the shipped model's has none.
        #expect(model.version.contains("-k6.3-s3.2-p1.1/"))
        #expect(!(try DefaultModelTests.model().version.contains("-k")))
        let mixed = model.uncalibrated(leadViewWeight: 0.25)
        let back = try KMERLEncoderModel.load(safetensors: try mixed.safetensorsData())
        #expect(back.leadViewWeight == 0.25 && back.version == mixed.version && back.version != model.version)
        // A file without the field scores with the record embedding alone.
        #expect(try Safetensors.read(try model.safetensorsData()).metadata["lead_view_weight"] == nil)
        #expect(try KMERLEncoderModel.load(safetensors: try model.safetensorsData()).leadViewWeight == 0)
        for bad in ["1.5", "-0.1", "half", "nan"] {
            var (tensors, metadata) = try Safetensors.read(try mixed.safetensorsData())
            metadata["lead_view_weight"] = bad
            let data = try Safetensors.write(tensors: tensors.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, metadata: metadata)
            do {
                _ = try KMERLEncoderModel.load(safetensors: data)
                Issue.record("lead_view_weight '\(bad)' was accepted")
            } catch let e as ModelError {
                #expect(e.description.contains("lead_view_weight") && e.description.contains(bad))
            }
        }
    }
}
