import ECGCore
import Foundation
import KMERLTestSupport
import Testing

@testable import KMERLModel

/// The training options added for model quality: the concept logit head, class-balanced and
/// per-entity weighting of the entity loss, and the parameter moving average.
@Suite struct TrainingTests {
    static var headConfig: EncoderConfiguration {
        var c = NetworkTests.tinyTimeAligned
        c.conceptLogitHead = true
        return c
    }

    @Test func conceptHeadGivesEveryConceptTextItsOwnScaleAndBias() throws {
        let config = Self.headConfig
        let net = Network(config: config)
        #expect(net.layout.info("logit.concept")?.shape == [2, config.embeddingWidth])
        #expect(Network(config: NetworkTests.tinyTimeAligned).layout.info("logit.concept") == nil)
        #expect(Network(config: NetworkTests.tinyTimeAligned).conceptLogit == -1)
        // A configuration written before the field existed has no head (old files still load).
        var json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(config)) as? [String: Any] ?? [:]
        #expect(json["conceptLogitHead"] as? Bool == true)
        json["conceptLogitHead"] = nil
        let old = try JSONDecoder().decode(EncoderConfiguration.self, from: JSONSerialization.data(withJSONObject: json))
        #expect(old.conceptLogitHead == false)

        // A freshly initialised head is zero: every concept starts with the global scale and bias.
        let fresh = try KMERLEncoderModel.untrained(configuration: config, seed: 2)
        let t = fresh.embedText("left ventricular hypertrophy")
        #expect(fresh.logit(similarity: 0.3, text: t) == fresh.logit(similarity: 0.3))

        // With a non-zero head, two concept texts get different scales and biases.
        var p = net.initialParameters(seed: 2)
        let e = config.embeddingWidth
        for j in 0..<(2 * e) { p[net.conceptLogit + j] = Float(j % 5) * 0.2 - 0.4 }
        let model = KMERLEncoderModel(configuration: config, parameters: p, calibrations: [:], globalCalibration: .identity, card: ModelCard())
        #expect(model.version.contains("-time-ch"))
        let a = model.embedText("left ventricular hypertrophy")
        let b = model.embedText("atrial fibrillation")
        var u: Float = 0
        var v: Float = 0
        for j in 0..<e {
            u += p[net.conceptLogit + j] * a[j]
            v += p[net.conceptLogit + e + j] * a[j]
        }
        let expected = Double(exp(p[net.entityLogit] + v)) * 0.3 + Double(p[net.entityLogit + 1] + u)
        #expect(abs(model.logit(similarity: 0.3, text: a) - expected) < 1e-5)
        #expect(model.logit(similarity: 0.3, text: a) != model.logit(similarity: 0.3, text: b))

        // The head survives a save and load, and scoring an unseen concept uses it.
        let loaded = try KMERLEncoderModel.load(safetensors: try model.safetensorsData())
        #expect(loaded.version == model.version)
        #expect(loaded.configuration.conceptLogitHead)
        let (views, _) = NetworkTests.views(config)
        let embedding = loaded.embed(prepared: [views[1]])[0]
        let score = loaded.score(embedding, concepts: [ConceptQuery(id: "NEW", text: "left ventricular hypertrophy")])[0]
        #expect(!score.hasConceptCalibration)
        #expect(abs(score.probability - PlattCalibration.identity.probability(loaded.logit(similarity: score.similarity, text: a))) < 1e-9)
    }

    @Test func positiveWeightsBalanceRareConcepts() {
        func sample(_ targets: [Float?]) -> TrainingSample { TrainingSample(id: "x", leads: [:], targets: targets, report: "") }
        // Entity 0: 1 positive of 5; entity 1: 2 of 4 known (a soft target counts as positive);
        // entity 2: never positive; entity 3: 1 of 5, capped.
        let samples = [
            sample([1, 1, 0, 1]), sample([0, 0.7, 0, 0]), sample([0, 0, 0, 0]), sample([0, 0, 0, 0]), sample([0, nil, 0, 0]),
        ]
        #expect(Trainer.positiveWeights(samples: samples, entityCount: 4, power: 0, cap: 10) == nil)
        let w = Trainer.positiveWeights(samples: samples, entityCount: 4, power: 0.5, cap: 10) ?? []
        #expect(w.count == 4)
        #expect(abs(w[0] - 2) < 1e-6)  // (4/1)^0.5
        #expect(abs(w[1] - 1) < 1e-6)  // (2/2)^0.5
        #expect(w[2] == 1)  // no positives: unweighted
        let capped = Trainer.positiveWeights(samples: samples, entityCount: 4, power: 1, cap: 3) ?? []
        #expect(capped[0] == 3 && capped[3] == 3)
    }

    @Test func weightedEntityLossMatchesItsDefinition() {
        // One record, one entity: the loss is ew·(w·y·softplus(−l) + (1−y)·softplus(l)).
        let ecg: [Float] = [1, 0]
        let entity: [Float] = [0.6, 0.8]
        let logit: [Float] = [log(5), -1]  // l = 5·0.6 − 1 = 2
        let report: [Float] = [0, 1]
        let dz = Buffer(2), dt = Buffer(2), dr = Buffer(2), dl = Buffer(2), drl = Buffer(1)
        func softplus(_ x: Double) -> Double { log(1 + exp(x)) }
        for (y, w, ew) in [(Float(1), Float(3), Float(2)), (0.7, 2, 1), (0, 4, 0.5)] {
            let l = Losses.compute(
                ecg: ecg, batch: 1, dim: 2, entities: entity, entityCount: 1, reports: report, reportTexts: ["r"], targets: [[y]], entityMask: [1],
                entityLogit: logit, reportLogit: [0], contrastiveWeight: 0, dECG: dz.p, dEntities: dt.p, dReports: dr.p, dEntityLogit: dl.p,
                dReportLogit: drl.p, positiveWeights: [w], entityWeights: [ew])
            let expected = Double(ew) * (Double(w * y) * softplus(-2) + Double(1 - y) * softplus(2))
            #expect(abs(l.entity - expected) < 1e-5, "y \(y) w \(w) ew \(ew)")
        }
    }

    @Test func movingAverageIsKeptCheckpointedAndSaved() async throws {
        let config = NetworkTests.tinyTimeAligned
        var options = TrainingOptions()
        options.batchSize = 3
        options.epochs = 2
        options.emaDecay = 0.5
        let trainer = try Trainer(configuration: config, entities: NetworkTests.entities, heldOut: [], options: options)
        let (_, samples) = NetworkTests.views(config)
        var state = trainer.initialState()
        let initial = state.parameters
        _ = await trainer.runEpoch(&state, samples: samples)
        let average = try #require(state.average)
        // After one step the average is halfway between the initial and the updated parameters.
        for i in stride(from: 0, to: average.count, by: 97) {
            #expect(abs(average[i] - (0.5 * initial[i] + 0.5 * state.parameters[i])) < 1e-6)
        }
        #expect(average != state.parameters)
        let url = try SharedData.temporaryDirectory().appendingPathComponent("ema.checkpoint")
        try state.write(to: url)
        let read = try TrainingState.read(from: url)
        #expect(read.average == average)
        #expect(read.parameters == state.parameters)
        // The saved model is the average (the subword table is rounded to half precision).
        let model = trainer.model(from: state, card: ModelCard())
        let projW = trainer.network.projW
        #expect(model.parameters[projW] == average[projW])
        // Without a moving average there is none.
        var plain = TrainingOptions()
        plain.batchSize = 3
        let plainTrainer = try Trainer(configuration: config, entities: NetworkTests.entities, heldOut: [], options: plain)
        var plainState = plainTrainer.initialState()
        _ = await plainTrainer.runEpoch(&plainState, samples: samples)
        #expect(plainState.average == nil)
    }
}
