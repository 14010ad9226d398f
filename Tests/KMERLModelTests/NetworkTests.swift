import ECGCore
import Foundation
import Testing

@testable import KMERLModel

/// End-to-end gradient check of the whole model (ECG encoder, text encoder, both losses) on a
/// tiny configuration, plus lead-awareness properties of the encoder.
@Suite struct NetworkTests {
    static var tiny: EncoderConfiguration {
        var c = EncoderConfiguration()
        c.fusion = .leadTokens
        c.length = 120
        c.convChannels = [4, 6]
        c.convKernels = [6, 3]
        c.convStrides = [3, 2]
        c.convPaddings = [1, 1]
        c.width = 8
        c.heads = 2
        c.layers = 1
        c.mlpWidth = 12
        c.embeddingWidth = 6
        c.textBuckets = 64
        c.textWidth = 5
        c.convNorm = true  // exercise the optional stem norm in the gradient check
        return c
    }

    static func views(_ config: EncoderConfiguration) -> ([[(StandardLead, [Float])]], [TrainingSample]) {
        var rng = SeededGenerator(seed: 3)
        let leadSets: [[StandardLead]] = [[.i], [.i, .ii, .v2], [.v5, .aVR]]
        var views: [[(StandardLead, [Float])]] = []
        var samples: [TrainingSample] = []
        let reports = ["sinus rhythm normal ecg", "inferior infarction", "sinus rhythm normal ecg"]
        for (k, set) in leadSets.enumerated() {
            var v: [(StandardLead, [Float])] = []
            for lead in set {
                var x = [Float](repeating: 0, count: config.length)
                for t in 0..<config.length {
                    let phase = Float(t) * 0.3 + Float(lead.rawValue)
                    x[t] = sin(phase) + 0.3 * rng.nextGaussian()
                }
                v.append((lead, x))
            }
            views.append(v)
            let targets: [Float?] = [k == 0 ? 1 : 0, 0.7, nil, k == 2 ? 1 : 0]
            samples.append(TrainingSample(id: "\(k)", leads: Dictionary(uniqueKeysWithValues: v.map { ($0.0, $0.1) }), targets: targets, report: reports[k]))
        }
        return (views, samples)
    }

    static let entities = [
        EntitySpec(id: "NORM", text: "normal ECG"), EntitySpec(id: "MI", text: "myocardial infarction"),
        EntitySpec(id: "X", text: "unknown"), EntitySpec(id: "AFIB", text: "atrial fibrillation"),
    ]

    /// The tiny configuration with time-aligned fusion (lead-specific projections, time-position
    /// embedding, transformer over fused time tokens) and two layers.
    static var tinyTimeAligned: EncoderConfiguration {
        var c = tiny
        c.fusion = .timeAligned
        c.layers = 2
        c.convNorm = false
        return c
    }

    /// The whole-model gradient, also with the concept logit head and a weighted entity loss
    /// (class-balanced positives, per-entity weights).
    @Test(arguments: [(false, false), (true, false), (true, true)])
    func wholeModelGradientMatchesFiniteDifferences(timeAligned: Bool, conceptHead: Bool) async throws {
        var config = timeAligned ? Self.tinyTimeAligned : Self.tiny
        config.conceptLogitHead = conceptHead
        let positiveWeights: [Float]? = conceptHead ? [2, 1, 3, 1] : nil
        let entityWeights: [Float]? = conceptHead ? [1.5, 1, 0.5, 1] : nil
        var options = TrainingOptions()
        options.shards = 2
        options.contrastiveWeight = 0.5
        let trainer = try Trainer(configuration: config, entities: Self.entities, heldOut: ["AFIB"], options: options)
        let (views, batch) = Self.views(config)
        let tokenizer = SubwordTokenizer(buckets: config.textBuckets)
        let features = Self.entities.map { tokenizer.features($0.text) }
        let mask: [Float] = [1, 1, 1, 0]
        var params = trainer.network.initialParameters(seed: 5)
        if conceptHead {
            // A non-zero head, so that every term of its gradient is exercised.
            var rng = SeededGenerator(seed: 3)
            let head = trainer.network.conceptLogit
            for j in 0..<(2 * config.embeddingWidth) { params[head + j] = 0.3 * rng.nextGaussian() }
        }
        let (grads, _) = await trainer.step(
            parameters: params, views: views, batch: batch, entityFeatures: features, entityMask: mask, tokenizer: tokenizer,
            positiveWeights: positiveWeights, entityWeights: entityWeights)
        func loss(_ p: [Float]) async -> Float {
            let net = trainer.network
            // Scalar total loss: entity + weight × contrastive, recomputed without gradients.
            let f = Trainer.forwardShard(net, parameters: p, views: views)
            let z = f.acts.embedding.array
            return p.withUnsafeBufferPointer { pp in
                let base = pp.baseAddress!
                let ent = net.forwardText(parameters: base, features: features)
                let rep = net.forwardText(parameters: base, features: batch.map { tokenizer.features($0.report) })
                let e = config.embeddingWidth
                let d1 = Buffer(3 * e), d2 = Buffer(4 * e), d3 = Buffer(3 * e), g1 = Buffer(2), g2 = Buffer(1), g3 = Buffer(2 * e)
                let l = z.withUnsafeBufferPointer { zp in
                    Losses.compute(
                        ecg: zp.baseAddress!, batch: 3, dim: e, entities: ent.embedding.p, entityCount: 4, reports: rep.embedding.p,
                        reportTexts: batch.map(\.report), targets: batch.map(\.targets), entityMask: mask, entityLogit: base + net.entityLogit,
                        reportLogit: base + net.reportLogit, contrastiveWeight: options.contrastiveWeight, dECG: d1.p, dEntities: d2.p, dReports: d3.p,
                        dEntityLogit: g1.p, dReportLogit: g2.p, conceptLogit: conceptHead ? base + net.conceptLogit : nil,
                        dConceptLogit: conceptHead ? g3.p : nil, positiveWeights: positiveWeights, entityWeights: entityWeights)
                }
                return Float(l.entity) + options.contrastiveWeight * Float(l.contrastive)
            }
        }
        // Check a spread of coordinates in every tensor.
        var worst: Float = 0
        var checked = 0
        var rng = SeededGenerator(seed: 11)
        for t in trainer.network.layout.tensors {
            let picks = t.name == "text.subword_embedding" ? features.flatMap { $0 }.prefix(3).map { Int($0) * config.textWidth + 1 } : (0..<3).map { _ in Int(rng.next() % UInt64(t.count)) }
            for j in picks {
                let i = t.offset + j
                let eps: Float = 3e-3
                var pp = params
                var pm = params
                pp[i] += eps
                pm[i] -= eps
                let fd = (await loss(pp) - loss(pm)) / (2 * eps)
                let err = abs(fd - grads[i]) / max(3e-3, abs(fd) + abs(grads[i]))
                if err > worst { worst = err }
                #expect(err < 0.08, "\(t.name)[\(j)]: analytic \(grads[i]) vs finite difference \(fd)")
                checked += 1
            }
        }
        #expect(checked > 40)
    }

    @Test(arguments: [false, true])
    func absentLeadsHaveNoTokensAndOrderDoesNotMatter(timeAligned: Bool) throws {
        let config = timeAligned ? Self.tinyTimeAligned : Self.tiny
        let model = try KMERLEncoderModel.untrained(configuration: config, seed: 1)
        let (views, _) = Self.views(config)
        let two = views[1]
        let a = model.embed(prepared: [two])[0]
        let b = model.embed(prepared: [two.reversed()])[0]
        for i in 0..<a.record.count { #expect(abs(a.record[i] - b.record[i]) < 1e-5) }
        #expect(Set(a.perLead.keys) == [.i, .ii, .v2])
        // A lead alone gives the same embedding as perLead of the multi-lead pass.
        let alone = model.embed(prepared: [[two[0]]])[0]
        for i in 0..<alone.record.count { #expect(abs(alone.record[i] - (a.perLead[.i]?[i] ?? .nan)) < 1e-5) }
        // Zero-filling a lead is not the same as leaving it out.
        let zeroFilled = two + [(StandardLead.v1, [Float](repeating: 0, count: config.length))]
        let z = model.embed(prepared: [zeroFilled])[0]
        let diff = zip(z.record, a.record).map { abs($0 - $1) }.max() ?? 0
        #expect(diff > 1e-4)
        let norm = a.record.reduce(0) { $0 + $1 * $1 }
        #expect(abs(norm - 1) < 1e-4)
    }

    @Test func timeAlignedShapesAndOldFilesDecodeAsLeadTokens() throws {
        let net = Network(config: Self.tinyTimeAligned)
        let t = Self.tinyTimeAligned.tokensPerLead
        #expect(net.layout.info("ecg.token.weight")?.shape == [12, 6, 8])
        #expect(net.layout.info("ecg.time_embedding")?.shape == [t, 8])
        #expect(Network(config: Self.tiny).layout.info("ecg.time_embedding") == nil)
        // A configuration written before `fusion` existed describes the lead-token architecture.
        var json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(Self.tinyTimeAligned)) as? [String: Any] ?? [:]
        #expect(json["fusion"] as? String == "timeAligned")
        json["fusion"] = nil
        let old = try JSONDecoder().decode(EncoderConfiguration.self, from: JSONSerialization.data(withJSONObject: json))
        #expect(old.fusion == .leadTokens)
        // Round trip of a time-aligned model through safetensors.
        let model = try KMERLEncoderModel.untrained(configuration: Self.tinyTimeAligned, seed: 4)
        let loaded = try KMERLEncoderModel.load(safetensors: try model.safetensorsData())
        #expect(loaded.configuration == model.configuration)
        #expect(loaded.version == model.version)
        #expect(model.version.contains("-time"))
    }

    @Test func timeShiftAugmentationDelaysAndZeroFills() {
        #expect(Trainer.shifted([1, 2, 3, 4], by: 1) == [0, 1, 2, 3])
        #expect(Trainer.shifted([1, 2, 3, 4], by: -2) == [3, 4, 0, 0])
        #expect(Trainer.shifted([1, 2, 3, 4], by: 0) == [1, 2, 3, 4])
        #expect(Trainer.shifted([1, 2], by: 5) == [0, 0])
    }

    @Test func seededInitialisationIsDeterministic() throws {
        let a = try KMERLEncoderModel.untrained(seed: 42)
        let b = try KMERLEncoderModel.untrained(seed: 42)
        let c = try KMERLEncoderModel.untrained(seed: 43)
        #expect(a.version == b.version)
        #expect(a.version != c.version)
    }

    @Test func scheduleWarmsUpThenDecays() {
        let s = WarmupCosineSchedule(warmupSteps: 10, totalSteps: 110, floor: 0)
        #expect(abs(s.multiplier(at: 0) - 0.1) < 1e-6)
        #expect(abs(s.multiplier(at: 9) - 1) < 1e-6)
        #expect(abs(s.multiplier(at: 60) - 0.5) < 1e-3)
        #expect(s.multiplier(at: 109) < 0.01)
    }

    @Test func adamWMinimisesAQuadratic() {
        var layout = ParameterLayout()
        layout.add("w", [3], decays: false)
        var p: [Float] = [3, -2, 1]
        var opt = AdamW(count: 3, learningRate: 0.1, weightDecay: 0)
        for _ in 0..<300 { opt.update(&p, gradients: p.map { 2 * $0 }, layout: layout, scale: 1) }
        #expect(p.allSatisfy { abs($0) < 0.05 })
    }
}
