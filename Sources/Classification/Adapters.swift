import ECGCore
import ECGFormats
import ECGSignal
import KMERLModel
import KMERLResources
import Foundation
import Knowledge

/// Reads batch inputs with `ECGReader` (WFDB incl. `.mat`, HL7 aECG, CSV).
public struct FileRecordReader: BatchRecordReader {
    /// Options passed to `ECGReader.read`.
    public var options: ReadOptions

    public init(options: ReadOptions = ReadOptions()) {
        self.options = options
    }

    public func read(_ input: BatchInput) throws -> ECGRecord {
        try ECGReader.read(input.primary, options: options)
    }
}

extension KnowledgeStore: BatchResultStore {}

/// Measures batch records with the signal layer's `MeasurementPipeline`.
public struct SignalMeasurer: BatchRecordMeasurer {
    /// The pipeline used.
    public var pipeline: MeasurementPipeline

    public init(pipeline: MeasurementPipeline = MeasurementPipeline()) {
        self.pipeline = pipeline
    }

    public func measure(_ record: ECGRecord) throws -> RecordMeasurements {
        pipeline.measure(record)
    }
}

/// Scores concepts with the K-MERL encoder: the record's embedding (all present leads) and each
/// lead's own embedding against each concept's description text, calibrated per concept.
///
/// The concepts are prepared once (`KMERLEncoderModel.prepare`: text embeddings in one matrix,
/// calibrations resolved), so a record costs its embedding and one small matrix–vector product per
/// present lead set, with no per-record text or dictionary work.
public struct ModelConceptScorer: BatchConceptScorer {
    /// The model.
    public let model: KMERLEncoderModel
    private let prepared: PreparedConcepts
    /// Concept id → row of `prepared`.
    private let rows: [String: Int]

    /// Prepares the queries of `concepts`: a concept the model was trained on is queried with the
    /// text it was trained and calibrated with (`ModelCard.conceptTexts`), any other one with its
    /// ontology description (`Concept.descriptionText`, zero-shot).
    public init(model: KMERLEncoderModel, concepts: [Concept]) {
        self.model = model
        var seen = Set<String>()
        let queries = concepts.compactMap { c in
            seen.insert(c.id).inserted ? ConceptQuery(id: c.id, text: model.card.conceptTexts[c.id] ?? c.descriptionText) : nil
        }
        prepared = model.prepare(queries)
        var rows: [String: Int] = [:]
        for (k, id) in prepared.ids.enumerated() { rows[id] = k }
        self.rows = rows
    }

    public var version: String { model.version }

    public func isCalibrated(_ conceptID: String) -> Bool { model.calibrations[conceptID] != nil }

    /// Every concept with a description: the text encoder embeds any text; concepts without their
    /// own calibration use the model's global one.
    public func scorable(_ concepts: [Concept]) -> [Concept] {
        concepts.filter { rows[$0.id] != nil }
    }

    /// The encoder score of row `k` of `table`.
    private func score(_ table: ConceptScoreTable, row k: Int) -> EncoderScore {
        EncoderScore(
            probability: table.probability[k], similarity: table.similarity[k], leadProbability: LeadValues(slots: table.leadProbabilities(of: k)),
            conceptCalibrated: prepared.hasOwnCalibration[k])
    }

    public func orderedScores(for record: ECGRecord, concepts: [Concept]) throws -> [EncoderScore?] {
        guard let table = model.scoreTable(model.embed(record), prepared: prepared) else { return Array(repeating: nil, count: concepts.count) }
        return concepts.map { concept in rows[concept.id].map { score(table, row: $0) } }
    }

    public func scores(for record: ECGRecord, concepts: [Concept]) throws -> [String: EncoderScore] {
        var out: [String: EncoderScore] = [:]
        for (concept, score) in zip(concepts, try orderedScores(for: record, concepts: concepts)) {
            if let score { out[concept.id] = score }
        }
        return out
    }
}

extension BatchClassifier {
    /// The path of the default model inside the binary.
    public static let embeddedModelPath = "Models/kmerl-default.safetensors"

    /// The error thrown when no model is available.
    public struct ModelUnavailable: Error, CustomStringConvertible, LocalizedError {
        public var description: String
        public var errorDescription: String? { description }
    }

    /// A batch scoring the concepts of `store` (or, when `nil`, of the embedded ontology; results
    /// are then not stored) with the model in `modelData` (or the embedded default model).
    /// Throws when the ontology, the model or the templates cannot be loaded.
    public init(store: KnowledgeStore?, modelData: Data?, options: ClassifyOptions) throws {
        let (concepts, kbVersion) = try DefaultKnowledge.concepts(in: store)
        guard let data = modelData ?? EmbeddedResources.data(Self.embeddedModelPath) else {
            throw ModelUnavailable(description: "no default model is embedded in this build (\(Self.embeddedModelPath)); pass --model FILE.safetensors")
        }
        let model: KMERLEncoderModel
        do {
            model = try KMERLEncoderModel.load(safetensors: data)
        } catch {
            let which = modelData == nil ? "the embedded default model" : "the model"
            throw ModelUnavailable(description: "\(which) cannot be loaded: \((error as? LocalizedError)?.errorDescription ?? String(describing: error))")
        }
        let classifier = try RecordClassifier(
            reader: FileRecordReader(), measurer: SignalMeasurer(), scorer: ModelConceptScorer(model: model, concepts: concepts),
            concepts: concepts, options: options)
        try self.init(classifier: classifier, store: store, knowledgeBaseVersion: kbVersion)
    }
}
