import ECGCore
import ECGFormats
import Foundation
import KMERLTestSupport
import Testing

@testable import KMERLModel

/// Knowledge distillation (teacher targets) and ensemble evaluation, with the shipped model as
/// the teacher on real PTB-XL records.
@Suite struct DistillationTests {
    /// The first `count` PTB-XL records of `records100/00000` as training samples of the
    /// superclasses and subclasses (targets as `kmerl-train` builds them: certain 1, uncertain
    /// 0.7, otherwise 0), with their binary evaluation labels.
    static func samples(_ model: KMERLEncoderModel, count: Int) throws -> (samples: [TrainingSample], labels: [[Bool]], entities: [EntitySpec]) {
        let ptbxl = try SharedData.url("ptbxl")
        let db = try PTBXLLabels(folder: ptbxl)
        let entities = PTBXLLabels.superclasses + db.subclasses
        let headers = try FileManager.default.contentsOfDirectory(at: ptbxl.appendingPathComponent("records100/00000"), includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "hea" }.sorted { $0.path < $1.path }.prefix(count)
        var samples: [TrainingSample] = []
        var labels: [[Bool]] = []
        for h in headers {
            let id = try #require(Int(h.deletingPathExtension().lastPathComponent.prefix(5)))
            let row = try #require(db.rows[id])
            let (certain, uncertain) = db.concepts(of: row)
            let targets: [Float?] = entities.map { certain.contains($0.id) ? 1 : uncertain.contains($0.id) ? 0.7 : 0 }
            let leads = Dictionary(uniqueKeysWithValues: model.preparedLeads(try ECGReader.read(h)).map { ($0.0, $0.1) })
            samples.append(TrainingSample(id: String(id), leads: leads, targets: targets, report: row.report))
            labels.append(entities.map { certain.union(uncertain).contains($0.id) })
        }
        return (samples, labels, entities)
    }

    @Test func teacherTargetsLieBetweenLabelAndTeacherProbability() async throws {
        let model = try DefaultModelTests.model()
        let (samples, _, entities) = try Self.samples(model, count: 16)
        var options = TrainingOptions()
        options.positiveWeightPower = 1
        options.teacherWeight = 0.3
        let trainer = try Trainer(configuration: model.configuration, entities: entities, heldOut: [], options: options)
        let distilled = await trainer.distilled(samples, teacher: try ModelEnsemble(models: [model]))
        let twice = await trainer.distilled(samples, teacher: try ModelEnsemble(models: [model, model]))
        #expect(distilled.map(\.teacher) == twice.map(\.teacher))
        // The teacher's probability: sigmoid(raw 12-lead logit − log positive weight), here
        // recomputed through the inference path, record by record.
        let weights = try #require(trainer.positiveWeights(samples: samples))
        #expect(weights.contains { $0 > 1.5 })
        let texts = model.embedTexts(entities.map(\.text))
        var differing = 0
        for (sample, d) in zip(samples, distilled) {
            #expect(d.targets == sample.targets)
            let teacher = try #require(d.teacher)
            #expect(teacher.count == entities.count)
            let view = StandardLead.allCases.compactMap { lead in sample.leads[lead].map { (lead, $0) } }
            #expect(view.count == 12)
            let embedding = model.embed(prepared: [view], perLead: false)[0]
            let mixed = Distillation.targets(sample.targets, teacher: teacher, weight: 0.3)
            for k in entities.indices {
                let logit = model.logit(similarity: KMERLEncoderModel.dot(embedding.record, texts[k]), text: texts[k])
                let expected = 1 / (1 + exp(-(logit - log(Double(weights[k])))))
                #expect(abs(Double(teacher[k]) - expected) < 1e-5)
                let y = try #require(sample.targets[k])
                let m = try #require(mixed[k])
                #expect(m >= min(y, teacher[k]) - 1e-6 && m <= max(y, teacher[k]) + 1e-6)
                #expect(abs(m - (0.7 * y + 0.3 * teacher[k])) < 1e-6)
                if abs(teacher[k] - y) > 0.05 { differing += 1 }
            }
        }
        // The teacher is not just the labels again.
        #expect(differing > 10)
        // Unknown targets stay unknown.
        #expect(Distillation.targets([nil, 1, 0], teacher: [0.5, 0.5, 0.5], weight: 0.5) == [nil, 0.75, 0.25])
    }

    @Test func zeroTeacherWeightReproducesTheUndistilledTraining() async throws {
        let model = try DefaultModelTests.model()
        let (samples, _, entities) = try Self.samples(model, count: 8)
        var options = TrainingOptions()
        options.positiveWeightPower = 1
        let plain = try Trainer(configuration: model.configuration, entities: entities, heldOut: [], options: options)
        let distilled = await plain.distilled(samples, teacher: try ModelEnsemble(models: [model]))
        for (s, d) in zip(samples, distilled) {
            #expect(Distillation.targets(d.targets, teacher: d.teacher, weight: 0) == s.targets)
        }
        // One training step on the same lead subsets: α = 0 gives the undistilled gradient bit
        // for bit, α = 0.5 another one.
        let views = samples.enumerated().map { i, s in
            (i % 2 == 0 ? StandardLead.allCases : [.i]).compactMap { lead in s.leads[lead].map { (lead, $0) } }
        }
        let tokenizer = SubwordTokenizer(buckets: model.configuration.textBuckets)
        let features = entities.map { tokenizer.features($0.text) }
        let mask = [Float](repeating: 1, count: entities.count)
        let weights = plain.positiveWeights(samples: samples)
        let parameters = model.parameters
        func gradient(_ trainer: Trainer, _ batch: [TrainingSample]) async -> [Float] {
            await trainer.step(
                parameters: parameters, views: views, batch: batch, entityFeatures: features, entityMask: mask, tokenizer: tokenizer,
                positiveWeights: weights
            ).0
        }
        let reference = await gradient(plain, samples)
        #expect(await gradient(plain, distilled) == reference)
        options.teacherWeight = 0.5
        let mixing = try Trainer(configuration: model.configuration, entities: entities, heldOut: [], options: options)
        #expect(await gradient(mixing, samples) == reference)
        #expect(await gradient(mixing, distilled) != reference)
    }

    @Test func ensembleOfOneModelTwiceIsThatModel() async throws {
        let model = try DefaultModelTests.model()
        let (samples, labels, entities) = try Self.samples(model, count: 24)
        #expect(throws: ModelError.self) { try ModelEnsemble(models: []) }
        // Members must prepare records alike; another architecture with the same preprocessing may join.
        var shorter = model.configuration
        shorter.length = 500
        #expect(throws: ModelError.self) { try ModelEnsemble(models: [model, try KMERLEncoderModel.untrained(configuration: shorter)]) }
        var deeper = model.configuration
        deeper.layers = 2
        #expect(try ModelEnsemble(models: [model, try KMERLEncoderModel.untrained(configuration: deeper)]).models.count == 2)
        let ensemble = try ModelEnsemble(models: [model, model])
        #expect(ensemble.version == model.version + "+" + model.version)
        let superclasses = Set(PTBXLLabels.superclasses.map(\.id))
        let subclasses = Set(entities.map(\.id)).subtracting(superclasses)
        for leads in [StandardLead.allCases, [.i]] {
            let single = await Evaluator(model: model).logits(samples: samples, leads: leads, concepts: entities)
            #expect(await ensemble.logits(samples: samples, leads: leads, concepts: entities) == single)
            let a = await Evaluator(model: model).evaluate(
                name: "x", samples: samples, labels: labels, leads: leads, concepts: entities, superclasses: superclasses, subclasses: subclasses)
            let b = Evaluator.evaluation(
                name: "x", logits: await ensemble.logits(samples: samples, leads: leads, concepts: entities), labels: labels, leads: leads,
                concepts: entities, superclasses: superclasses, subclasses: subclasses)
            #expect(a == b)
            #expect(a.superclassMacroAUROC != nil && a.perConcept.count >= 3)
        }
    }
}
