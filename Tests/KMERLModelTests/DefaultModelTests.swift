import ECGCore
import ECGFormats
import Foundation
import KMERLTestSupport
import Testing

@testable import KMERLModel

/// The shipped model (Models/kmerl-default.safetensors) on the real validation fold.
@Suite struct DefaultModelTests {
    static func model() throws -> KMERLEncoderModel {
        try KMERLEncoderModel.load(contentsOf: SharedData.projectRoot.appendingPathComponent("Models/kmerl-default.safetensors"))
    }

    @Test func defaultModelSeparatesSuperclassesOnFold9() async throws {
        let model = try Self.model()
        #expect(model.version.hasPrefix("kmerl-encoder/"))
        // The shipped model learns every concept it can; zero-shot is measured with --hold-out runs.
        #expect(model.card.heldOutConcepts.isEmpty)
        #expect(model.card.trainedConcepts.contains("AFIB") && model.card.trainedConcepts.contains("CLBBB"))
        let ptbxl = try SharedData.url("ptbxl")
        let labels = try PTBXLLabels(folder: ptbxl)
        var records: [ECGRecord] = []
        var truth: [[Bool]] = []
        let root = ptbxl.appendingPathComponent("records100")
        let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)
        while let url = enumerator?.nextObject() as? URL {
            guard url.pathExtension == "hea", let id = Int(url.deletingPathExtension().lastPathComponent.prefix(5)),
                let row = labels.rows[id], row.fold == 9
            else { continue }
            records.append(try ECGReader.read(url))
            let (certain, uncertain) = labels.concepts(of: row)
            truth.append(PTBXLLabels.superclasses.map { certain.union(uncertain).contains($0.id) })
        }
        #expect(records.count == 183)
        let queries = PTBXLLabels.superclasses.map { ConceptQuery(id: $0.id, text: $0.text) }
        // Measured for this model (time-aligned fusion, 80 epochs, class-balanced entity loss with
        // superclass weight 3): 0.916 (12 leads) and 0.851 (lead I).
        for (leads, floor) in [(StandardLead.allCases, 0.905), ([StandardLead.i], 0.84)] {
            let embeddings = await model.embed(records.map { $0.keeping(Set(leads)) })
            let scores = embeddings.map { model.score($0, concepts: queries) }
            var aurocs: [Double] = []
            for k in 0..<queries.count {
                if let a = Metrics.auroc(scores: scores.map { $0[k].probability }, labels: truth.map { $0[k] }) { aurocs.append(a) }
            }
            let macro = aurocs.reduce(0, +) / Double(aurocs.count)
            #expect(aurocs.count == 5)
            #expect(macro > floor, "superclass macro-AUROC with \(leads.map(\.name)) is \(macro)")
            // Calibrated probabilities and per-lead scores for exactly the present leads.
            #expect(scores.allSatisfy { $0.allSatisfy { $0.probability > 0 && $0.probability < 1 && $0.hasConceptCalibration } })
            #expect(embeddings.allSatisfy { Set($0.perLead.keys) == Set(leads) })
        }
    }

    @Test func scoringUnseenConceptTextUsesGlobalCalibration() throws {
        let model = try Self.model()
        let record = try ECGReader.read(try SharedData.url("ludb/data/1.hea"))
        let embedding = model.embed(record)
        #expect(embedding.perLead.count == 12)
        let scores = model.score(embedding, concepts: [ConceptQuery(id: "NEW-CONCEPT", text: "left ventricular strain pattern")])
        #expect(scores.count == 1)
        #expect(scores[0].hasConceptCalibration == false)
        #expect(scores[0].perLead.count == 12)
        #expect(abs(scores[0].similarity) <= 1)
        // No leads: nothing to score.
        #expect(model.score(model.embed(record.keeping([])), concepts: [ConceptQuery(id: "MI", text: "myocardial infarction")]).isEmpty)
    }

    /// The prepared (once per batch) scoring path gives exactly what the formula gives from the
    /// model's pieces — text embedding, cosine, logit scale and bias, the concept's calibration —
    /// for the record and for each present lead, and NaN for the absent leads.
    @Test func preparedScoringMatchesTheFormulaOnARealTwoLeadRecord() throws {
        let model = try Self.model()
        let record = try ECGReader.read(try SharedData.url("ludb/data/8.hea")).keeping([.ii, .v1])
        let embedding = model.embed(record)
        let queries = [ConceptQuery(id: "CLBBB", text: "complete left bundle branch block"), ConceptQuery(id: "NOT-IN-MODEL", text: "sinus rhythm")]
        let prepared = model.prepare(queries)
        let table = try #require(model.scoreTable(embedding, prepared: prepared))
        #expect(prepared.hasOwnCalibration == [true, false])
        for (k, query) in queries.enumerated() {
            let text = model.embedText(query.text)
            let calibration = model.calibrations[query.id] ?? model.globalCalibration
            func expected(_ v: [Float]) -> Double {
                var cosine: Float = 0
                for i in v.indices { cosine += v[i] * text[i] }
                return calibration.probability(model.logit(similarity: Double(cosine), text: text))
            }
            #expect(abs(table.probability[k] - expected(embedding.record)) < 1e-12)
            let leads = Array(table.leadProbabilities(of: k))
            for lead in StandardLead.allCases {
                if let v = embedding.perLead[lead] {
                    #expect(abs(leads[lead.rawValue] - expected(v)) < 1e-12, "\(query.id) lead \(lead.name)")
                } else {
                    #expect(leads[lead.rawValue].isNaN, "\(query.id): absent lead \(lead.name) has a value")
                }
            }
            #expect(leads.filter { !$0.isNaN }.count == 2)
        }
        // The one-record API answers the same.
        let scores = model.score(embedding, concepts: queries)
        #expect(scores.map(\.probability) == table.probability)
        #expect(scores[0].perLead[.v1] == table.leadProbabilities(of: 0)[StandardLead.v1.rawValue])
    }

    /// The shipped model records the text each concept was trained with; a card written before
    /// that field existed still loads with its other fields.
    @Test func theCardKeepsTheTrainedConceptTexts() throws {
        let model = try Self.model()
        #expect(model.card.conceptTexts["STTC"] == "ST/T change, ST-T abnormality")
        #expect(model.card.conceptTexts["NORM"] == "normal ECG")
        #expect(Set(model.card.conceptTexts.keys) == Set(model.card.trainedConcepts))
        let old = #"{"trainedConcepts":["NORM"],"heldOutConcepts":[],"command":"kmerl-train fit","seed":7,"epochs":80,"notes":{}}"#
        let card = try JSONDecoder().decode(ModelCard.self, from: Data(old.utf8))
        #expect(card.trainedConcepts == ["NORM"] && card.seed == 7 && card.epochs == 80 && card.conceptTexts.isEmpty)
    }
}
