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
public struct ModelConceptScorer: BatchConceptScorer {
    /// The model.
    public let model: KMERLEncoderModel
    private let queries: [String: ConceptQuery]

    /// Prepares the queries (concept id + `Concept.descriptionText`) of `concepts`.
    public init(model: KMERLEncoderModel, concepts: [Concept]) {
        self.model = model
        var queries: [String: ConceptQuery] = [:]
        for concept in concepts { queries[concept.id] = ConceptQuery(id: concept.id, text: concept.descriptionText) }
        self.queries = queries
        // Warm the text-embedding cache once, so records do not race to fill it.
        for query in queries.values { _ = model.embedText(query.text) }
    }

    public var version: String { model.version }

    public func isCalibrated(_ conceptID: String) -> Bool { model.calibrations[conceptID] != nil }

    /// Every concept with a description: the text encoder embeds any text; concepts without their
    /// own calibration use the model's global one.
    public func scorable(_ concepts: [Concept]) -> [Concept] {
        concepts.filter { queries[$0.id] != nil }
    }

    public func orderedScores(for record: ECGRecord, concepts: [Concept]) throws -> [EncoderScore?] {
        let embedding = model.embed(record)
        var positions: [Int] = []
        var wanted: [ConceptQuery] = []
        positions.reserveCapacity(concepts.count)
        wanted.reserveCapacity(concepts.count)
        for (k, concept) in concepts.enumerated() {
            guard let query = queries[concept.id] else { continue }
            positions.append(k)
            wanted.append(query)
        }
        var out = [EncoderScore?](repeating: nil, count: concepts.count)
        let scored = model.score(embedding, concepts: wanted)
        // `score` answers in the order asked; check the id anyway.
        for (n, score) in scored.enumerated() where n < positions.count && score.id == wanted[n].id {
            out[positions[n]] = EncoderScore(
                probability: score.probability, similarity: score.similarity, leadProbability: LeadValues(score.perLead),
                conceptCalibrated: score.hasConceptCalibration)
        }
        return out
    }

    public func scores(for record: ECGRecord, concepts: [Concept]) throws -> [String: EncoderScore] {
        let embedding = model.embed(record)
        let wanted = concepts.compactMap { queries[$0.id] }
        var out: [String: EncoderScore] = [:]
        out.reserveCapacity(wanted.count)
        for score in model.score(embedding, concepts: wanted) {
            out[score.id] = EncoderScore(
                probability: score.probability, similarity: score.similarity, leadProbability: LeadValues(score.perLead),
                conceptCalibrated: score.hasConceptCalibration)
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
