import ECGCore
import Foundation

/// One paired training example: the prepared leads of a record, soft targets per entity, and the report.
public struct TrainingSample: Sendable {
    /// Record id (e.g. PTB-XL `ecg_id`).
    public var id: String
    /// Prepared samples (model rate, normalized, `length` long) per standard lead present.
    public var leads: [StandardLead: [Float]]
    /// Target per entity of the trainer's entity list: 1 present, 0 absent/negated, a soft value for
    /// uncertain, `nil` for unknown (no loss).
    public var targets: [Float?]
    /// The free-text report (contrastive objective).
    public var report: String
    /// A teacher's probability per entity (knowledge distillation, `Trainer.distilled`), mixed
    /// into `targets` with `TrainingOptions.teacherWeight`; `nil` = hard targets only.
    public var teacher: [Float]?

    /// A sample.
    public init(id: String, leads: [StandardLead: [Float]], targets: [Float?], report: String, teacher: [Float]? = nil) {
        self.id = id
        self.leads = leads
        self.targets = targets
        self.report = report
        self.teacher = teacher
    }
}

/// Training hyper-parameters.
public struct TrainingOptions: Sendable, Codable, Hashable {
    /// Passes over the training samples.
    public var epochs = 60
    /// Samples per optimiser step.
    public var batchSize = 64
    /// Peak learning rate.
    public var learningRate: Float = 3e-3
    /// AdamW weight decay.
    public var weightDecay: Float = 0.02
    /// Warm-up as a fraction of all steps.
    public var warmupFraction: Float = 0.05
    /// Weight of the contrastive ECG–report loss.
    public var contrastiveWeight: Float = 0.3
    /// Probability of zeroing each 0.4 s patch of a kept lead (random patch masking).
    public var patchMaskProbability: Float = 0.05
    /// Largest random time shift (in samples at the model rate, both directions, the same for all
    /// leads of a sample; vacated samples are zero) applied to each training sample; 0 = none.
    /// 25 (0.25 s) in the shipped model: on fold 8 it added 0.02 (lead I) and 0.03 (subclasses).
    public var maxTimeShift = 25
    /// Class balance of the entity loss: each concept's positives are weighted by
    /// `min(positiveWeightCap, (negatives / positives)^positiveWeightPower)`, counted on the
    /// training samples (0 = unweighted).
    public var positiveWeightPower: Float = 0
    /// Largest positive weight (see `positiveWeightPower`).
    public var positiveWeightCap: Float = 10
    /// Loss weight per entity id (default 1), e.g. to stress the concepts a model is judged on.
    public var entityWeights: [String: Float] = [:]
    /// Decay of an exponential moving average of the parameters, updated after every step; the
    /// saved model is the average (0 = off: the last parameters).
    public var emaDecay: Float = 0
    /// Largest relative random time stretch of a training sample (session 4, off by default): each
    /// sample's leads are resampled by one factor drawn uniformly from `1 ± timeStretch` (0.1:
    /// 0.9–1.1, i.e. ±10 % heart rate), about the record's centre, same length, zero-filled
    /// outside the record; 0 = none.
    public var timeStretch: Float = 0
    /// Largest standard deviation of additive white Gaussian noise (inputs are z-scored per
    /// lead, so 0.1 is 10 % of a lead's standard deviation); each sample draws its level
    /// uniformly from 0 to this (session 4, off by default); 0 = none.
    public var noiseLevel: Float = 0
    /// Probability that a training sample is mixed with another sample of its batch (mixup,
    /// session 4, off by default): signals and targets become `λ·own + (1−λ)·other` with
    /// `λ` uniform in 0.5–1 (the own record dominates and keeps its report); 0 = none.
    public var mixupProbability: Float = 0
    /// Relative weights of the dynamic lead-masking draws: all 12, 6 limb, I-II-III-V2, I-II-V2,
    /// I-II, I, one random lead, a random subset (`LeadSets.sample(_:weights:)`); `nil` = the
    /// shipped 25/10/10/10/10/10/13/12 %.
    public var leadSetWeights: [Float]? = nil
    /// Seed of initialisation, shuffling and masking.
    public var seed: UInt64 = 7
    /// Parallel shards per step (bounded to the core count).
    public var shards = 2
    /// Knowledge distillation: the entity loss's target is `(1 − w)·label + w·teacher` for samples
    /// with teacher probabilities (`TrainingSample.teacher`); 0 = the labels alone.
    public var teacherWeight: Float = 0

    /// Defaults.
    public init() {}
}

/// The lead sets of dynamic lead masking: all 12, the CinC 2021 reduced sets, single leads, random subsets.
public enum LeadSets {
    /// The six limb leads.
    public static let limb: [StandardLead] = StandardLead.limbLeads
    /// CinC 2021 4-lead set.
    public static let four: [StandardLead] = [.i, .ii, .iii, .v2]
    /// CinC 2021 3-lead set.
    public static let three: [StandardLead] = [.i, .ii, .v2]
    /// CinC 2021 2-lead set.
    public static let two: [StandardLead] = [.i, .ii]

    /// The evaluation lead sets, named.
    public static let evaluation: [(name: String, leads: [StandardLead])] = [
        ("all 12", StandardLead.allCases), ("6 limb", limb), ("I,II,III,V2", four), ("I,II,V2", three), ("I,II", two), ("I", [.i]),
    ]

    /// A random lead set drawn with relative `weights` (8 non-negative values: all 12, 6 limb,
    /// I-II-III-V2, I-II-V2, I-II, I, one random lead, a random subset); `nil`, or weights of the
    /// wrong count or sum, give `sample(_:)`.
    public static func sample(_ rng: inout SeededGenerator, weights: [Float]?) -> [StandardLead] {
        guard let weights, weights.count == 8, weights.allSatisfy({ $0 >= 0 }) else { return sample(&rng) }
        let total = weights.reduce(0, +)
        guard total > 0 else { return sample(&rng) }
        let u = rng.nextUniform() * total
        var cumulative: Float = 0
        var pick = 7
        for (k, w) in weights.enumerated() {
            cumulative += w
            if u < cumulative {
                pick = k
                break
            }
        }
        return draw(pick, &rng)
    }

    /// A random lead set for one training sample.
    public static func sample(_ rng: inout SeededGenerator) -> [StandardLead] {
        let u = rng.nextUniform()
        let pick: Int
        switch u {
        case ..<0.25: pick = 0
        case ..<0.35: pick = 1
        case ..<0.45: pick = 2
        case ..<0.55: pick = 3
        case ..<0.65: pick = 4
        case ..<0.75: pick = 5
        case ..<0.88: pick = 6
        default: pick = 7
        }
        return draw(pick, &rng)
    }

    /// The lead set of draw `pick` (all 12, 6 limb, I-II-III-V2, I-II-V2, I-II, I, one random
    /// lead, a random subset); the last two draw from `rng`.
    private static func draw(_ pick: Int, _ rng: inout SeededGenerator) -> [StandardLead] {
        switch pick {
        case 0: return StandardLead.allCases
        case 1: return limb
        case 2: return four
        case 3: return three
        case 4: return two
        case 5: return [.i]
        case 6: return [StandardLead.allCases[Int(rng.next() % 12)]]
        default:
            var out = StandardLead.allCases.filter { _ in rng.nextUniform() < 0.5 }
            if out.isEmpty { out = [StandardLead.allCases[Int(rng.next() % 12)]] }
            return out
        }
    }
}

/// Losses of one step or epoch.
public struct TrainingLosses: Sendable, Hashable, CustomStringConvertible {
    /// Entity binary cross-entropy.
    public var entity: Double
    /// Contrastive ECG–report loss.
    public var contrastive: Double

    public var description: String { String(format: "entity %.4f  contrastive %.4f", entity, contrastive) }
}

/// A resumable training run: parameters, optimiser state, epoch.
public struct TrainingState: Sendable {
    /// Architecture.
    public var configuration: EncoderConfiguration
    /// Flat parameters.
    public var parameters: [Float]
    /// Optimiser.
    public var optimizer: AdamW
    /// Epochs completed.
    public var epoch: Int
    /// Exponential moving average of the parameters (`TrainingOptions.emaDecay`), if kept.
    public var average: [Float]? = nil

    /// Writes a checkpoint (safetensors: parameters and optimiser moments, metadata) atomically.
    public func write(to url: URL) throws {
        let meta: [String: String] = [
            "format": "kmerl-checkpoint",
            "config": String(decoding: try JSONEncoder().encode(configuration), as: UTF8.self),
            "epoch": String(epoch), "step": String(optimizer.step),
            "learning_rate": String(optimizer.learningRate), "weight_decay": String(optimizer.weightDecay),
        ]
        var tensors: [(String, SafetensorsTensor)] = [
            ("parameters", SafetensorsTensor(shape: [parameters.count], values: parameters)),
            ("adam.m", SafetensorsTensor(shape: [optimizer.m.count], values: optimizer.m)),
            ("adam.v", SafetensorsTensor(shape: [optimizer.v.count], values: optimizer.v)),
        ]
        if let average { tensors.append(("ema", SafetensorsTensor(shape: [average.count], values: average))) }
        let data = try Safetensors.write(tensors: tensors, metadata: meta)
        do { try data.write(to: url, options: .atomic) } catch { throw ModelError.io("cannot write checkpoint \(url.path): \(error.localizedDescription)") }
    }

    /// Reads a checkpoint written by `write(to:)`.
    public static func read(from url: URL) throws -> TrainingState {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw ModelError.io("cannot read checkpoint \(url.path): \(error.localizedDescription)") }
        let (t, meta) = try Safetensors.read(data)
        guard meta["format"] == "kmerl-checkpoint", let c = meta["config"], let config = try? JSONDecoder().decode(EncoderConfiguration.self, from: Data(c.utf8)),
            let p = t["parameters"], let m = t["adam.m"], let v = t["adam.v"], let epoch = meta["epoch"].flatMap(Int.init),
            let step = meta["step"].flatMap(Int.init), let lr = meta["learning_rate"].flatMap(Float.init), let wd = meta["weight_decay"].flatMap(Float.init)
        else { throw ModelError.format("\(url.path) is not a kmerl training checkpoint") }
        guard p.values.count == Network(config: config).layout.totalCount, m.values.count == p.values.count, v.values.count == p.values.count else {
            throw ModelError.architecture("\(url.path): checkpoint sizes do not match its configuration")
        }
        var opt = AdamW(count: p.values.count, learningRate: lr, weightDecay: wd)
        opt.m = m.values
        opt.v = v.values
        opt.step = step
        var average: [Float]? = nil
        if let ema = t["ema"] {
            guard ema.values.count == p.values.count else { throw ModelError.architecture("\(url.path): checkpoint average size does not match its configuration") }
            average = ema.values
        }
        return TrainingState(configuration: config, parameters: p.values, optimizer: opt, epoch: epoch, average: average)
    }
}

/// Trains the encoder with the K-MERL objectives: per-entity alignment (binary cross-entropy on
/// scaled ECG–entity-text cosine similarities), CLIP-style ECG–report contrast, dynamic lead
/// masking and random patch masking.
public struct Trainer: Sendable {
    /// The entities (knowledge-base concepts) aligned with; targets index this list.
    public let entities: [EntitySpec]
    /// Entity ids excluded from the entity loss (zero-shot hold-outs).
    public let heldOut: Set<String>
    /// Options.
    public let options: TrainingOptions
    let network: Network

    /// A trainer.
    public init(configuration: EncoderConfiguration, entities: [EntitySpec], heldOut: Set<String>, options: TrainingOptions) throws {
        try configuration.validate()
        network = Network(config: configuration)
        self.entities = entities
        self.heldOut = heldOut
        self.options = options
    }

    /// A fresh state.
    public func initialState() -> TrainingState {
        TrainingState(
            configuration: network.config, parameters: network.initialParameters(seed: options.seed),
            optimizer: AdamW(count: network.layout.totalCount, learningRate: options.learningRate, weightDecay: options.weightDecay), epoch: 0)
    }

    /// Steps per epoch for `count` samples.
    public func stepsPerEpoch(_ count: Int) -> Int { max(1, count / options.batchSize) }

    /// Runs one epoch (number `state.epoch + 1`) and returns the mean losses.
    public func runEpoch(_ state: inout TrainingState, samples: [TrainingSample]) async -> TrainingLosses {
        let epoch = state.epoch
        var rng = SeededGenerator(seed: options.seed &+ UInt64(epoch + 1) &* 0x1000_0001)
        var order = Array(0..<samples.count)
        order.shuffle(using: &rng)
        let steps = stepsPerEpoch(samples.count)
        let schedule = WarmupCosineSchedule(
            warmupSteps: Int(Float(steps * options.epochs) * options.warmupFraction), totalSteps: steps * options.epochs)
        let tokenizer = SubwordTokenizer(buckets: network.config.textBuckets)
        let entityFeatures = entities.map { tokenizer.features($0.text) }
        let entityMask = entities.map { heldOut.contains($0.id) ? Float(0) : 1 }
        let entityWeights: [Float]? = options.entityWeights.isEmpty ? nil : entities.map { options.entityWeights[$0.id] ?? 1 }
        let positiveWeights = Self.positiveWeights(samples: samples, entityCount: entities.count, power: options.positiveWeightPower, cap: options.positiveWeightCap)
        var sumE = 0.0
        var sumC = 0.0
        for s in 0..<steps {
            var batch = order[(s * options.batchSize)..<min(samples.count, (s + 1) * options.batchSize)].map { samples[$0] }
            var views: [[(StandardLead, [Float])]] = []
            for (index, sample) in batch.enumerated() {
                let set = LeadSets.sample(&rng, weights: options.leadSetWeights)
                var kept = set.compactMap { lead in sample.leads[lead].map { (lead, $0) } }
                if kept.isEmpty, let any = sample.leads.sorted(by: { $0.key < $1.key }).first { kept = [(any.key, any.value)] }
                if options.mixupProbability > 0 && batch.count > 1 && rng.nextUniform() < options.mixupProbability {
                    let other = batch[(index + 1 + Int(rng.next() % UInt64(batch.count - 1))) % batch.count]
                    let lambda = 0.5 + 0.5 * rng.nextUniform()
                    for k in 0..<kept.count {
                        if let o = other.leads[kept[k].0] { kept[k].1 = Augmentation.mixed(kept[k].1, o, lambda: lambda) }
                    }
                    batch[index].targets = Augmentation.mixedTargets(sample.targets, other.targets, lambda: lambda)
                    // Distillation: the teacher's probabilities are mixed like the labels.
                    if let ta = sample.teacher, let tb = other.teacher, ta.count == tb.count {
                        batch[index].teacher = zip(ta, tb).map { lambda * $0 + (1 - lambda) * $1 }
                    } else {
                        batch[index].teacher = nil
                    }
                }
                if options.timeStretch > 0 {
                    let factor = 1 + options.timeStretch * (2 * rng.nextUniform() - 1)
                    for k in 0..<kept.count { kept[k].1 = Augmentation.stretched(kept[k].1, by: factor) }
                }
                if options.noiseLevel > 0 {
                    let sigma = options.noiseLevel * rng.nextUniform()
                    for k in 0..<kept.count { kept[k].1 = Augmentation.noisy(kept[k].1, sigma: sigma, rng: &rng) }
                }
                if options.maxTimeShift > 0 {
                    let shift = Int(rng.next() % UInt64(2 * options.maxTimeShift + 1)) - options.maxTimeShift
                    for k in 0..<kept.count { kept[k].1 = Self.shifted(kept[k].1, by: shift) }
                }
                if options.patchMaskProbability > 0 {
                    let patch = max(1, Int(network.config.sampleRate * 0.4))
                    for k in 0..<kept.count {
                        var x = kept[k].1
                        var start = 0
                        while start < x.count {
                            if rng.nextUniform() < options.patchMaskProbability {
                                for i in start..<min(x.count, start + patch) { x[i] = 0 }
                            }
                            start += patch
                        }
                        kept[k].1 = x
                    }
                }
                views.append(kept)
            }
            // The moving average starts at the initial parameters.
            if options.emaDecay > 0 && state.average == nil { state.average = state.parameters }
            let scale = schedule.multiplier(at: state.optimizer.step)
            let (grads, losses) = await step(
                parameters: state.parameters, views: views, batch: batch, entityFeatures: entityFeatures, entityMask: entityMask, tokenizer: tokenizer,
                positiveWeights: positiveWeights, entityWeights: entityWeights)
            state.optimizer.update(&state.parameters, gradients: grads, layout: network.layout, scale: scale)
            // Keep the logit scales in a sane range.
            state.parameters[network.entityLogit] = min(max(state.parameters[network.entityLogit], 0), log(100))
            state.parameters[network.reportLogit] = min(max(state.parameters[network.reportLogit], 0), log(100))
            if options.emaDecay > 0 {
                let d = options.emaDecay
                var avg = state.average ?? []
                for i in 0..<avg.count { avg[i] = d * avg[i] + (1 - d) * state.parameters[i] }
                state.average = avg
            }
            sumE += losses.entity
            sumC += losses.contrastive
        }
        state.epoch += 1
        return TrainingLosses(entity: sumE / Double(steps), contrastive: sumC / Double(steps))
    }

    /// Per-entity weights of positive targets: `min(cap, (negatives / positives)^power)` over the
    /// samples with a known target (a soft target counts as a positive); `nil` when `power` is 0.
    static func positiveWeights(samples: [TrainingSample], entityCount: Int, power: Float, cap: Float) -> [Float]? {
        guard power > 0 else { return nil }
        var pos = [Float](repeating: 0, count: entityCount)
        var known = [Float](repeating: 0, count: entityCount)
        for sample in samples {
            for k in 0..<min(entityCount, sample.targets.count) {
                guard let y = sample.targets[k] else { continue }
                known[k] += 1
                if y > 0 { pos[k] += 1 }
            }
        }
        return (0..<entityCount).map { k in
            guard pos[k] > 0, known[k] > pos[k] else { return 1 }
            return min(max(cap, 1), max(1, pow((known[k] - pos[k]) / pos[k], power)))
        }
    }

    /// `x` delayed by `shift` samples (advanced when negative), zero-filled, same length.
    static func shifted(_ x: [Float], by shift: Int) -> [Float] {
        guard shift != 0 else { return x }
        var out = [Float](repeating: 0, count: x.count)
        for t in 0..<x.count {
            let src = t - shift
            if src >= 0 && src < x.count { out[t] = x[src] }
        }
        return out
    }

    /// Loss and gradient of one batch (exposed for gradient checks).
    func step(
        parameters: [Float], views: [[(StandardLead, [Float])]], batch: [TrainingSample], entityFeatures: [[Int32]], entityMask: [Float],
        tokenizer: SubwordTokenizer, positiveWeights: [Float]? = nil, entityWeights: [Float]? = nil
    ) async -> ([Float], TrainingLosses) {
        let net = network
        let shards = max(1, min(options.shards, views.count))
        let per = (views.count + shards - 1) / shards
        let ranges = (0..<shards).map { ($0 * per)..<min(views.count, ($0 + 1) * per) }.filter { !$0.isEmpty }
        // Phase 1: ECG forward per shard, in parallel.
        let forwards: [ShardForward] = await withTaskGroup(of: (Int, ShardForward).self) { group in
            for (i, r) in ranges.enumerated() {
                let shardViews = Array(views[r])
                group.addTask { (i, Self.forwardShard(net, parameters: parameters, views: shardViews)) }
            }
            var out = [ShardForward?](repeating: nil, count: ranges.count)
            for await (i, f) in group { out[i] = f }
            return out.compactMap { $0 }
        }
        let e = net.config.embeddingWidth
        var ecg: [Float] = []
        for f in forwards { ecg.append(contentsOf: f.acts.embedding.array) }
        let b = views.count
        // Phase 2: texts and losses, centrally.
        var grads = [Float](repeating: 0, count: net.layout.totalCount)
        let reportFeatures = batch.map { tokenizer.features($0.report) }
        let targets = batch.map { Distillation.targets($0.targets, teacher: $0.teacher, weight: options.teacherWeight) }
        let reports = batch.map(\.report)
        var dECG = [Float](repeating: 0, count: b * e)
        let losses = parameters.withUnsafeBufferPointer { pp in
            grads.withUnsafeMutableBufferPointer { gp in
                let p = pp.baseAddress.unsafelyUnwrapped
                let g = gp.baseAddress.unsafelyUnwrapped
                let ent = net.forwardText(parameters: p, features: entityFeatures)
                let rep = net.forwardText(parameters: p, features: reportFeatures)
                let dEnt = Buffer(ent.embedding.count)
                let dRep = Buffer(rep.embedding.count)
                let l = ecg.withUnsafeBufferPointer { z in
                    dECG.withUnsafeMutableBufferPointer { dz in
                        Losses.compute(
                            ecg: z.baseAddress.unsafelyUnwrapped, batch: b, dim: e, entities: ent.embedding.p, entityCount: entityFeatures.count,
                            reports: rep.embedding.p, reportTexts: reports, targets: targets, entityMask: entityMask,
                            entityLogit: p + net.entityLogit, reportLogit: p + net.reportLogit, contrastiveWeight: options.contrastiveWeight,
                            dECG: dz.baseAddress.unsafelyUnwrapped, dEntities: dEnt.p, dReports: dRep.p,
                            dEntityLogit: g + net.entityLogit, dReportLogit: g + net.reportLogit,
                            conceptLogit: net.conceptLogit >= 0 ? p + net.conceptLogit : nil, dConceptLogit: net.conceptLogit >= 0 ? g + net.conceptLogit : nil,
                            positiveWeights: positiveWeights, entityWeights: entityWeights)
                    }
                }
                net.backwardText(parameters: p, acts: ent, dEmbedding: dEnt.p, gradients: g)
                net.backwardText(parameters: p, acts: rep, dEmbedding: dRep.p, gradients: g)
                return l
            }
        }
        // Phase 3: ECG backward per shard, in parallel; sum.
        var offsets: [Int] = []
        var o = 0
        for f in forwards {
            offsets.append(o)
            o += f.acts.groups.count
        }
        let dECGCopy = dECG
        // Summed in shard order (not completion order), so that a run is bit-for-bit reproducible.
        let shardGrads: [[Float]] = await withTaskGroup(of: (Int, [Float]).self) { group in
            for (i, f) in forwards.enumerated() {
                let start = offsets[i] * e
                group.addTask {
                    var g = [Float](repeating: 0, count: net.layout.totalCount)
                    parameters.withUnsafeBufferPointer { pp in
                        g.withUnsafeMutableBufferPointer { gp in
                            dECGCopy.withUnsafeBufferPointer { dz in
                                net.backwardECG(
                                    parameters: pp.baseAddress.unsafelyUnwrapped, acts: f.acts, dEmbedding: dz.baseAddress.unsafelyUnwrapped + start,
                                    gradients: gp.baseAddress.unsafelyUnwrapped)
                            }
                        }
                    }
                    return (i, g)
                }
            }
            var all = [[Float]](repeating: [], count: forwards.count)
            for await (i, g) in group { all[i] = g }
            return all
        }
        for g in shardGrads {
            for i in 0..<grads.count { grads[i] += g[i] }
        }
        return (grads, losses)
    }

    struct ShardForward: @unchecked Sendable {
        let acts: ECGActivations
    }

    static func forwardShard(_ net: Network, parameters: [Float], views: [[(StandardLead, [Float])]]) -> ShardForward {
        var leads: [Int] = []
        var signals: [Float] = []
        var groups: [Range<Int>] = []
        let length = net.config.length
        for v in views {
            let start = leads.count
            for (lead, s) in v {
                leads.append(lead.rawValue)
                signals.append(contentsOf: s.prefix(length))
                if s.count < length { signals.append(contentsOf: [Float](repeating: 0, count: length - s.count)) }
            }
            groups.append(start..<leads.count)
        }
        let acts = parameters.withUnsafeBufferPointer { p in
            signals.withUnsafeBufferPointer { s in
                net.forwardECG(parameters: p.baseAddress.unsafelyUnwrapped, signals: s.baseAddress.unsafelyUnwrapped, leads: leads, groups: groups)
            }
        }
        return ShardForward(acts: acts)
    }

    /// A model from a state, for evaluation or saving (the parameter average when one was kept).
    public func model(from state: TrainingState, card: ModelCard) -> KMERLEncoderModel {
        KMERLEncoderModel(configuration: state.configuration, parameters: state.average ?? state.parameters, calibrations: [:], globalCalibration: .identity, card: card)
    }
}

/// The two K-MERL objectives with their gradients.
enum Losses {
    /// Entity BCE (mean over unmasked pairs) + `contrastiveWeight` × symmetric InfoNCE between ECG
    /// and report embeddings (reports with identical text count as positives of each other).
    /// Gradients are written to `dECG`, `dEntities`, `dReports` and added to the logit parameters.
    static func compute(
        ecg: UnsafePointer<Float>, batch b: Int, dim e: Int, entities: UnsafePointer<Float>, entityCount: Int,
        reports: UnsafePointer<Float>, reportTexts: [String], targets: [[Float?]], entityMask: [Float],
        entityLogit: UnsafePointer<Float>, reportLogit: UnsafePointer<Float>, contrastiveWeight: Float,
        dECG: UnsafeMutablePointer<Float>, dEntities: UnsafeMutablePointer<Float>, dReports: UnsafeMutablePointer<Float>,
        dEntityLogit: UnsafeMutablePointer<Float>, dReportLogit: UnsafeMutablePointer<Float>,
        conceptLogit: UnsafePointer<Float>? = nil, dConceptLogit: UnsafeMutablePointer<Float>? = nil, positiveWeights: [Float]? = nil,
        entityWeights: [Float]? = nil
    ) -> TrainingLosses {
        dECG.update(repeating: 0, count: b * e)
        dEntities.update(repeating: 0, count: entityCount * e)
        dReports.update(repeating: 0, count: b * e)
        // Entity alignment.
        // Per-concept log-scale and bias: the global ones plus (with the concept head) a linear
        // function of the concept's text embedding.
        var logScales = [Float](repeating: entityLogit[0], count: entityCount)
        var biases = [Float](repeating: entityLogit[1], count: entityCount)
        if let head = conceptLogit {
            for k in 0..<entityCount {
                let tk = entities + k * e
                var u: Float = 0
                var v: Float = 0
                for j in 0..<e {
                    u += head[j] * tk[j]
                    v += head[e + j] * tk[j]
                }
                biases[k] += u
                logScales[k] += v
            }
        }
        let scales = logScales.map { exp($0) }
        var gBias = [Float](repeating: 0, count: entityCount)
        var gLogScale = [Float](repeating: 0, count: entityCount)
        var count: Float = 0
        for i in 0..<b {
            for k in 0..<entityCount where entityMask[k] > 0 && k < targets[i].count && targets[i][k] != nil { count += 1 }
        }
        var entityLoss: Double = 0
        if count > 0 {
            for i in 0..<b {
                let zi = ecg + i * e
                for k in 0..<entityCount where entityMask[k] > 0 && k < targets[i].count {
                    guard let y = targets[i][k] else { continue }
                    let tk = entities + k * e
                    let s = scales[k]
                    var cosv: Float = 0
                    for j in 0..<e { cosv += zi[j] * tk[j] }
                    let l = s * cosv + biases[k]
                    // Stable BCE with logits, positives weighted by `w` (class balance):
                    // w·y·softplus(−l) + (1−y)·softplus(l).
                    let w = positiveWeights.map { k < $0.count ? $0[k] : 1 } ?? 1
                    let ew = entityWeights.map { k < $0.count ? $0[k] : 1 } ?? 1
                    let softplusPos = max(l, 0) + log(1 + exp(-abs(l)))
                    entityLoss += Double(ew * (w * y * (softplusPos - l) + (1 - y) * softplusPos))
                    let p = 1 / (1 + exp(-l))
                    let dl = ew * (p * (w * y + 1 - y) - w * y) / count
                    for j in 0..<e {
                        dECG[i * e + j] += dl * s * tk[j]
                        dEntities[k * e + j] += dl * s * zi[j]
                    }
                    gLogScale[k] += dl * s * cosv
                    gBias[k] += dl
                }
            }
            entityLoss /= Double(count)
            for k in 0..<entityCount {
                dEntityLogit[0] += gLogScale[k]
                dEntityLogit[1] += gBias[k]
            }
            if let head = conceptLogit, let dHead = dConceptLogit {
                for k in 0..<entityCount where gBias[k] != 0 || gLogScale[k] != 0 {
                    let tk = entities + k * e
                    for j in 0..<e {
                        dHead[j] += gBias[k] * tk[j]
                        dHead[e + j] += gLogScale[k] * tk[j]
                        dEntities[k * e + j] += gBias[k] * head[j] + gLogScale[k] * head[e + j]
                    }
                }
            }
        }
        // Contrastive ECG–report.
        var contrastive: Double = 0
        if contrastiveWeight > 0 && b > 1 {
            let sr = exp(reportLogit[0])
            var logits = [Float](repeating: 0, count: b * b)
            for i in 0..<b {
                for j in 0..<b {
                    var d: Float = 0
                    for c in 0..<e { d += ecg[i * e + c] * reports[j * e + c] }
                    logits[i * b + j] = sr * d
                }
            }
            var same = [Float](repeating: 0, count: b * b)
            for i in 0..<b {
                var n: Float = 0
                for j in 0..<b where reportTexts[i] == reportTexts[j] { n += 1 }
                for j in 0..<b where reportTexts[i] == reportTexts[j] { same[i * b + j] = 1 / n }
            }
            var dS = [Float](repeating: 0, count: b * b)
            let w = contrastiveWeight / Float(2 * b)
            // Rows (ECG → report) and columns (report → ECG).
            for pass in 0..<2 {
                for i in 0..<b {
                    var mx = -Float.greatestFiniteMagnitude
                    for j in 0..<b { mx = max(mx, pass == 0 ? logits[i * b + j] : logits[j * b + i]) }
                    var sum: Float = 0
                    for j in 0..<b { sum += exp((pass == 0 ? logits[i * b + j] : logits[j * b + i]) - mx) }
                    let lse = mx + log(sum)
                    for j in 0..<b {
                        let idx = pass == 0 ? i * b + j : j * b + i
                        let q = same[i * b + j]
                        let p = exp(logits[idx] - lse)
                        if q > 0 { contrastive -= Double(q * (logits[idx] - lse)) }
                        dS[idx] += w * (p - q)
                    }
                }
            }
            contrastive /= Double(2 * b)
            for i in 0..<b {
                for j in 0..<b {
                    let g = dS[i * b + j]
                    if g == 0 { continue }
                    for c in 0..<e {
                        dECG[i * e + c] += g * sr * reports[j * e + c]
                        dReports[j * e + c] += g * sr * ecg[i * e + c]
                    }
                    dReportLogit[0] += g * logits[i * b + j]
                }
            }
        }
        return TrainingLosses(entity: entityLoss, contrastive: contrastive)
    }
}
