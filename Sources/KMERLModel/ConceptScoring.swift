import ECGCore
import Foundation

/// Concepts made ready for scoring many records: their text embeddings in one matrix, the model's
/// logit scale and bias, and each concept's calibration. Built once per batch with
/// `KMERLEncoderModel.prepare(_:)`, so that scoring a record does no text lookup, no hashing of
/// concept texts and no dictionary work.
public struct PreparedConcepts: Sendable {
    /// The concept ids, in the order of the scores.
    public let ids: [String]
    /// `true` where the concept has its own calibration (`false`: the model's global one).
    public let hasOwnCalibration: [Bool]
    let width: Int
    /// `ids.count × width`, row-major: the unit text embedding of each concept.
    let embeddings: [Float]
    let calibrationA: [Double]
    let calibrationB: [Double]
    /// Each concept's logit scale and bias (the model's global ones, or from the concept logit head).
    let logitScale: [Double]
    let logitBias: [Double]

    /// How many concepts.
    public var count: Int { ids.count }
}

/// The scores of prepared concepts for one record, in the order of `PreparedConcepts.ids`.
public struct ConceptScoreTable: Sendable {
    /// Calibrated probability of the record (all present leads together, mixed with the leads'
    /// own views by the model's `leadViewWeight`).
    public var probability: [Double]
    /// Cosine similarity between the record embedding and the concept text.
    public var similarity: [Double]
    /// `count × 12`: the calibrated probability from each standard lead alone, indexed by
    /// `StandardLead.rawValue`; NaN where the lead has no embedding (absent).
    public var leadProbability: [Double]

    /// The 12 per-lead probabilities of concept `index` (NaN where absent).
    public func leadProbabilities(of index: Int) -> ArraySlice<Double> {
        let n = StandardLead.allCases.count
        return leadProbability[(index * n)..<((index + 1) * n)]
    }
}

extension KMERLEncoderModel {
    /// Prepares `concepts` for `scoreTable(_:prepared:)`: embeds every text once (through the
    /// text cache) and resolves every calibration.
    public func prepare(_ concepts: [ConceptQuery]) -> PreparedConcepts {
        let e = configuration.embeddingWidth
        var matrix: [Float] = []
        matrix.reserveCapacity(concepts.count * e)
        var a: [Double] = [], b: [Double] = [], own: [Bool] = [], scales: [Double] = [], biases: [Double] = []
        for c in concepts {
            let t = embedText(c.text)
            matrix.append(contentsOf: t.count == e ? t : Array(repeating: 0, count: e))
            let (scale, bias) = conceptLogitParameters(text: t)
            scales.append(scale)
            biases.append(bias)
            let calibration = calibrations[c.id]
            let cal = calibration ?? globalCalibration
            a.append(cal.a)
            b.append(cal.b)
            own.append(calibration != nil)
        }
        return PreparedConcepts(
            ids: concepts.map(\.id), hasOwnCalibration: own, width: e, embeddings: matrix, calibrationA: a, calibrationB: b,
            logitScale: scales, logitBias: biases)
    }

    /// Scores every prepared concept against `embedding`: the record's similarity and calibrated
    /// probability, and the calibrated probability of each present lead alone. Returns `nil` for
    /// an embedding without leads.
    public func scoreTable(_ embedding: RecordEmbedding, prepared: PreparedConcepts) -> ConceptScoreTable? {
        let e = prepared.width
        guard embedding.record.count == e else { return nil }
        let n = prepared.count
        let leadCount = StandardLead.allCases.count
        var leadVectors: [(slot: Int, vector: [Float])] = []
        for lead in StandardLead.allCases {
            if let v = embedding.perLead[lead], v.count == e { leadVectors.append((lead.rawValue, v)) }
        }
        var table = ConceptScoreTable(
            probability: Array(repeating: 0, count: n), similarity: Array(repeating: 0, count: n),
            leadProbability: Array(repeating: .nan, count: n * leadCount))
        func logit(_ similarity: Float, _ k: Int) -> Double { prepared.logitScale[k] * Double(similarity) + prepared.logitBias[k] }
        func probability(_ logit: Double, _ k: Int) -> Double { 1 / (1 + exp(-(prepared.calibrationA[k] * logit + prepared.calibrationB[k]))) }
        // Each concept's sum of the present leads' logits, in lead order (for `leadViewWeight`).
        var leadSums = [Double](repeating: 0, count: n)
        prepared.embeddings.withUnsafeBufferPointer { m in
            for (slot, vector) in leadVectors {
                vector.withUnsafeBufferPointer { v in
                    for k in 0..<n {
                        let l = logit(Self.dot(v.baseAddress.unsafelyUnwrapped, m.baseAddress.unsafelyUnwrapped + k * e, e), k)
                        leadSums[k] += l
                        table.leadProbability[k * leadCount + slot] = probability(l, k)
                    }
                }
            }
            embedding.record.withUnsafeBufferPointer { r in
                for k in 0..<n {
                    let row = m.baseAddress.unsafelyUnwrapped + k * e
                    let sim = Self.dot(r.baseAddress.unsafelyUnwrapped, row, e)
                    table.similarity[k] = Double(sim)
                    table.probability[k] = probability(mixedLogit(record: logit(sim, k), leadSum: leadSums[k], leadCount: leadVectors.count), k)
                }
            }
        }
        return table
    }

    /// Dot product of two `count`-long vectors, summed in index order (the same order as
    /// `dot(_:_:)`, so both give the same value).
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Float {
        var s: Float = 0
        for i in 0..<count { s += a[i] * b[i] }
        return s
    }
}
