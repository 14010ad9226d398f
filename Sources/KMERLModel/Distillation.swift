import ECGCore
import Foundation

/// Knowledge distillation from a twelve-lead teacher into the arbitrary-lead student: the
/// entity loss's target mixes the label with the teacher's probability on the same record.
public enum Distillation {
    /// The entity targets of one sample with a teacher's probabilities mixed in:
    /// `(1 − weight)·label + weight·teacher` for every entity with a known label; unknown labels
    /// (`nil`, no loss) stay unknown. With `weight` 0 or no teacher, `targets` unchanged.
    public static func targets(_ targets: [Float?], teacher: [Float]?, weight: Float) -> [Float?] {
        guard weight > 0, let teacher else { return targets }
        return targets.indices.map { k in
            guard let y = targets[k] else { return nil }
            guard k < teacher.count, teacher[k].isFinite else { return y }
            return (1 - weight) * y + weight * teacher[k]
        }
    }
}

/// Several models of the same concepts scored together: the ensemble's score of a record and
/// concept is the mean of the models' raw (uncalibrated) logits, so no calibration fold enters
/// an evaluation of it.
public struct ModelEnsemble: Sendable {
    /// The members (at least one).
    public let models: [KMERLEncoderModel]

    /// An ensemble; throws for an empty list or members that prepare leads differently (another
    /// sample rate or length: they could not score the same prepared samples). The architectures
    /// may differ otherwise.
    public init(models: [KMERLEncoderModel]) throws {
        guard let first = models.first else { throw ModelError.format("an ensemble needs at least one model") }
        for m in models where !Self.samePreprocessing(m.configuration, first.configuration) {
            throw ModelError.architecture(
                "\(m.version) expects \(m.configuration.length) samples at \(m.configuration.sampleRate) Hz, \(first.version) \(first.configuration.length) at \(first.configuration.sampleRate) Hz: they cannot form an ensemble")
        }
        self.models = models
    }

    /// Whether two architectures prepare a record's leads identically (sample rate and length).
    public static func samePreprocessing(_ a: EncoderConfiguration, _ b: EncoderConfiguration) -> Bool {
        a.sampleRate == b.sampleRate && a.length == b.length
    }

    /// The members' version hashes joined with "+" (names the ensemble in reports and model cards).
    public var version: String { models.map(\.version).joined(separator: "+") }

    /// Mean raw logits `[record][concept]` of the members for the samples restricted to `leads`
    /// (members summed in list order, so the result does not depend on scheduling).
    public func logits(samples: [TrainingSample], leads: [StandardLead], concepts: [EntitySpec]) async -> [[Double]] {
        var sum: [[Double]] = []
        for model in models {
            let l = await Evaluator(model: model).logits(samples: samples, leads: leads, concepts: concepts)
            if sum.isEmpty {
                sum = l
            } else {
                for i in sum.indices { for k in sum[i].indices { sum[i][k] += l[i][k] } }
            }
        }
        let n = Double(models.count)
        return sum.map { row in row.map { $0 / n } }
    }

    /// Teacher probabilities `[record][entity]`: every member scores each sample on all its leads
    /// (no masking, no shift); a member's probability is `sigmoid(logit − log w)`, where `w` is
    /// the entity's positive weight of the class-balanced loss it was trained with (so the
    /// up-weighting of rare positives is undone and the probability estimates how likely the
    /// concept is), and the probabilities are averaged over the members in list order.
    public func probabilities(samples: [TrainingSample], entities: [EntitySpec], positiveWeights: [Float]?) async -> [[Float]] {
        var sum = [[Double]](repeating: [Double](repeating: 0, count: entities.count), count: samples.count)
        let offsets = entities.indices.map { k in Double(log(max(1, positiveWeights.map { k < $0.count ? $0[k] : 1 } ?? 1))) }
        for model in models {
            let l = await Evaluator(model: model).logits(samples: samples, leads: StandardLead.allCases, concepts: entities)
            for i in samples.indices {
                for k in entities.indices { sum[i][k] += 1 / (1 + exp(-(l[i][k] - offsets[k]))) }
            }
        }
        let n = Double(models.count)
        return sum.map { row in row.map { Float($0 / n) } }
    }
}

extension Trainer {
    /// The positive weights of the class-balanced entity loss on `samples` with these options
    /// (`nil` when unweighted), counted on the hard labels.
    public func positiveWeights(samples: [TrainingSample]) -> [Float]? {
        Self.positiveWeights(samples: samples, entityCount: entities.count, power: options.positiveWeightPower, cap: options.positiveWeightCap)
    }

    /// `samples` with the teacher's probabilities attached (`TrainingSample.teacher`), for
    /// distillation with `TrainingOptions.teacherWeight`. The class-balance weights undone in the
    /// teacher's logits are this trainer's on these samples: the teacher is assumed to be trained
    /// on the same records with the same loss options, as `kmerl-train fit --teacher` documents.
    public func distilled(_ samples: [TrainingSample], teacher: ModelEnsemble) async -> [TrainingSample] {
        let p = await teacher.probabilities(samples: samples, entities: entities, positiveWeights: positiveWeights(samples: samples))
        var out = samples
        for i in out.indices { out[i].teacher = p[i] }
        return out
    }
}
