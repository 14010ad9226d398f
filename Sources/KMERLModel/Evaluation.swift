import ECGCore
import Foundation

/// Ranking and calibration metrics.
public enum Metrics {
    /// Area under the ROC curve (ties count one half); `nil` when a class is missing.
    public static func auroc(scores: [Double], labels: [Bool]) -> Double? {
        let pos = labels.filter { $0 }.count
        let neg = labels.count - pos
        guard pos > 0, neg > 0 else { return nil }
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var rankSumPos = 0.0
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && scores[order[j + 1]] == scores[order[i]] { j += 1 }
            let rank = Double(i + j) / 2 + 1
            for k in i...j where labels[order[k]] { rankSumPos += rank }
            i = j + 1
        }
        return (rankSumPos - Double(pos) * Double(pos + 1) / 2) / (Double(pos) * Double(neg))
    }

    /// Fits Platt scaling `σ(a·x + b)` to binary labels by Newton's method (with a small ridge
    /// and Platt's smoothed targets).
    public static func fitPlatt(logits: [Double], labels: [Bool]) -> PlattCalibration {
        let pos = Double(labels.filter { $0 }.count)
        let neg = Double(labels.count) - pos
        guard pos > 0, neg > 0 else { return .identity }
        let hi = (pos + 1) / (pos + 2)
        let lo = 1 / (neg + 2)
        func loss(_ a: Double, _ b: Double) -> Double {
            var l = 0.0
            for (x, y) in zip(logits, labels) {
                let t = y ? hi : lo
                let z = a * x + b
                l += max(z, 0) - z * t + log(1 + exp(-abs(z)))
            }
            return l
        }
        var a = 1.0
        var b = 0.0
        var current = loss(a, b)
        for _ in 0..<100 {
            var g0 = 0.0, g1 = 0.0, h00 = 1e-9, h01 = 0.0, h11 = 1e-9
            for (x, y) in zip(logits, labels) {
                let t = y ? hi : lo
                let p = 1 / (1 + exp(-(a * x + b)))
                let d = p - t
                let w = max(p * (1 - p), 1e-12)
                g0 += d * x
                g1 += d
                h00 += w * x * x
                h01 += w * x
                h11 += w
            }
            let det = h00 * h11 - h01 * h01
            guard abs(det) > 1e-18 else { break }
            let da = (h11 * g0 - h01 * g1) / det
            let db = (h00 * g1 - h01 * g0) / det
            // Newton step with backtracking.
            var step = 1.0
            var improved = false
            while step > 1e-6 {
                let l = loss(a - step * da, b - step * db)
                if l <= current {
                    a -= step * da
                    b -= step * db
                    current = l
                    improved = true
                    break
                }
                step /= 2
            }
            if !improved || (abs(step * da) < 1e-10 && abs(step * db) < 1e-10) { break }
        }
        guard a.isFinite, b.isFinite else { return .identity }
        return PlattCalibration(a: a, b: b)
    }
}

/// Evaluation results of one lead set.
public struct LeadSetEvaluation: Sendable, Codable, Hashable {
    /// Lead-set name (e.g. `all 12`).
    public var name: String
    /// Leads.
    public var leads: [String]
    /// Macro AUROC over the PTB-XL superclasses.
    public var superclassMacroAUROC: Double?
    /// Macro AUROC over the PTB-XL subclasses present in the evaluated records.
    public var subclassMacroAUROC: Double?
    /// AUROC per concept id.
    public var perConcept: [String: Double]
}

/// Scores embeddings against concept texts and computes AUROCs.
public struct Evaluator: Sendable {
    /// The model.
    public let model: KMERLEncoderModel

    /// An evaluator.
    public init(model: KMERLEncoderModel) { self.model = model }

    /// Raw logits `[record][concept]` for the samples restricted to `leads` (mixed with the leads'
    /// own views by the model's `leadViewWeight`, as scoring does).
    public func logits(samples: [TrainingSample], leads: [StandardLead], concepts: [EntitySpec]) async -> [[Double]] {
        let perLead = model.leadViewWeight > 0
        let views: [[(StandardLead, [Float])]] = samples.map { s in leads.compactMap { l in s.leads[l].map { (l, $0) } } }
        let workers = max(1, ProcessInfo.processInfo.activeProcessorCount)
        let chunk = max(1, (views.count + workers - 1) / workers)
        let m = model
        let embeddings: [RecordEmbedding] = await withTaskGroup(of: (Int, [RecordEmbedding]).self) { group in
            for start in stride(from: 0, to: views.count, by: chunk) {
                let part = Array(views[start..<min(views.count, start + chunk)])
                group.addTask { (start, m.embed(prepared: part, perLead: perLead)) }
            }
            var out = [RecordEmbedding](repeating: RecordEmbedding(record: [], perLead: [:]), count: views.count)
            for await (start, part) in group {
                for (i, e) in part.enumerated() { out[start + i] = e }
            }
            return out
        }
        let texts = model.embedTexts(concepts.map(\.text))
        return embeddings.map { emb in
            texts.map { t in
                guard !emb.record.isEmpty else { return 0 }
                // Leads summed in lead order, as `scoreTable` does (none without `leadViewWeight`).
                let leadSum = emb.perLead.isEmpty ? 0 : StandardLead.allCases.reduce(0.0) { sum, lead in
                    emb.perLead[lead].map { sum + model.logit(similarity: KMERLEncoderModel.dot($0, t), text: t) } ?? sum
                }
                return model.mixedLogit(record: model.logit(similarity: KMERLEncoderModel.dot(emb.record, t), text: t), leadSum: leadSum, leadCount: emb.perLead.count)
            }
        }
    }

    /// AUROCs per concept for one lead set. `labels[record][concept]` are binary.
    public func evaluate(
        name: String, samples: [TrainingSample], labels: [[Bool]], leads: [StandardLead], concepts: [EntitySpec], superclasses: Set<String>,
        subclasses: Set<String>
    ) async -> LeadSetEvaluation {
        let l = await logits(samples: samples, leads: leads, concepts: concepts)
        return Self.evaluation(name: name, logits: l, labels: labels, leads: leads, concepts: concepts, superclasses: superclasses, subclasses: subclasses)
    }

    /// AUROCs per concept and macro-AUROCs of scores `logits[record][concept]` (any monotone
    /// score: a model's raw logits, or an ensemble's mean logits).
    public static func evaluation(
        name: String, logits l: [[Double]], labels: [[Bool]], leads: [StandardLead], concepts: [EntitySpec], superclasses: Set<String>,
        subclasses: Set<String>
    ) -> LeadSetEvaluation {
        var per: [String: Double] = [:]
        for (k, c) in concepts.enumerated() {
            if let a = Metrics.auroc(scores: l.map { $0[k] }, labels: labels.map { $0[k] }) { per[c.id] = a }
        }
        func macro(_ ids: Set<String>) -> Double? {
            let v = ids.compactMap { per[$0] }
            return v.isEmpty ? nil : v.reduce(0, +) / Double(v.count)
        }
        return LeadSetEvaluation(
            name: name, leads: leads.map(\.name), superclassMacroAUROC: macro(superclasses), subclassMacroAUROC: macro(subclasses), perConcept: per)
    }

    /// Per-concept Platt calibrations on the given samples (all leads) and a global one over all pairs.
    public func calibrate(samples: [TrainingSample], labels: [[Bool]], concepts: [EntitySpec]) async -> ([String: PlattCalibration], PlattCalibration) {
        let l = await logits(samples: samples, leads: StandardLead.allCases, concepts: concepts)
        var out: [String: PlattCalibration] = [:]
        var allX: [Double] = []
        var allY: [Bool] = []
        for (k, c) in concepts.enumerated() {
            let x = l.map { $0[k] }
            let y = labels.map { $0[k] }
            allX += x
            allY += y
            if y.contains(true) && y.contains(false) { out[c.id] = Metrics.fitPlatt(logits: x, labels: y) }
        }
        return (out, Metrics.fitPlatt(logits: allX, labels: allY))
    }
}

extension KMERLEncoderModel {
    /// This model with its calibrations fitted anew on `samples` (its validation fold), scoring
    /// with `leadViewWeight` (nil: its own) and carrying `card` (nil: its own). The concepts its
    /// card holds out of training get no calibration of their own: scored from their text alone,
    /// they use the global one, as any unseen concept does.
    public func recalibrated(
        samples: [TrainingSample], labels: [[Bool]], concepts: [EntitySpec], leadViewWeight: Double? = nil, card: ModelCard? = nil
    ) async -> KMERLEncoderModel {
        let raw = uncalibrated(leadViewWeight: leadViewWeight ?? self.leadViewWeight)
        let (calibrations, global) = await Evaluator(model: raw).calibrate(samples: samples, labels: labels, concepts: concepts)
        let heldOut = Set(self.card.heldOutConcepts)
        return raw.with(calibrations: calibrations.filter { !heldOut.contains($0.key) }, global: global, card: card)
    }
}
