import ECGCore
import ECGSignal
import Foundation
import Knowledge

/// Reads one record of a batch (the formats layer).
public protocol BatchRecordReader: Sendable {
    /// Reads `input`, throwing an error that names the file and the problem.
    func read(_ input: BatchInput) throws -> ECGRecord
}

/// Measures one record (the signal layer).
public protocol BatchRecordMeasurer: Sendable {
    /// Intervals, axes and per-lead quality of `record`.
    func measure(_ record: ECGRecord) throws -> RecordMeasurements
}

/// Scores concepts for one record with the encoder (the model layer).
public protocol BatchConceptScorer: Sendable {
    /// The model's version, for run.json and the knowledge base.
    var version: String { get }
    /// The ids of `concepts` this model can score.
    func scorable(_ concepts: [Concept]) -> [Concept]
    /// Calibrated probability, similarity and per-lead probability of each concept, by concept id.
    func scores(for record: ECGRecord, concepts: [Concept]) throws -> [String: EncoderScore]
    /// Whether the concept has a calibration of its own (fitted on labelled data).
    func isCalibrated(_ conceptID: String) -> Bool
    /// The score of each of `concepts`, in their order (`nil` where the model has none).
    func orderedScores(for record: ECGRecord, concepts: [Concept]) throws -> [EncoderScore?]
}

extension BatchConceptScorer {
    /// By default the scores by id, put in order.
    public func orderedScores(for record: ECGRecord, concepts: [Concept]) throws -> [EncoderScore?] {
        let scores = try self.scores(for: record, concepts: concepts)
        return concepts.map { scores[$0.id] }
    }

    /// Every concept is calibrated unless the scorer says otherwise.
    public func isCalibrated(_ conceptID: String) -> Bool { true }
}

/// Timings of one record's stages.
struct RecordTimings: Sendable {
    var read = 0.0
    var measure = 0.0
    var score = 0.0
}

/// Classifies a single record: read, keep the requested leads, measure, encode and score every
/// concept, combine with the criteria, decide the overall statement.
public struct RecordClassifier: Sendable {
    public let reader: any BatchRecordReader
    public let measurer: any BatchRecordMeasurer
    public let scorer: any BatchConceptScorer
    /// The concepts scored, in a stable order.
    public let concepts: [Concept]
    public let options: ClassifyOptions
    let findingScorer: FindingScorer
    let rule: OverallStatementRule
    /// The clinical consistency rules between findings.
    public let consistency: ConsistencyRules
    let deciding: Set<String>
    /// The PTB-XL class aggregates (see `OverallStatementRule.aggregateConcepts`).
    let aggregates: Set<String>
    /// The order in which findings are stated in a headline, by category: rhythm, conduction,
    /// axis, hypertrophy, infarction, ST-T, form, then overall statements (as an ECG machine
    /// prints them: the rhythm first, "normal ECG" last).
    let statementOrder: [String: Int]
    static let categoryOrder: [ConceptCategory] = [.rhythm, .conduction, .axis, .hypertrophy, .infarction, .stt, .form, .overall, .technical]
    /// `Concept.codesText` of each of `concepts`, computed once.
    let codes: [String]

    /// The error thrown for a record that cannot be classified (names the file).
    public struct RecordError: Error, CustomStringConvertible, LocalizedError {
        public var file: String
        public var problem: String
        public var description: String { "\(file): \(problem)" }
        public var errorDescription: String? { description }
    }

    /// Prepares classification of `concepts` (those `scorer` can score, restricted to `options.concepts`).
    public init(
        reader: any BatchRecordReader, measurer: any BatchRecordMeasurer, scorer: any BatchConceptScorer,
        concepts: [Concept], options: ClassifyOptions, rule: OverallStatementRule = OverallStatementRule(),
        consistency: ConsistencyRules = ConsistencyRules()
    ) throws {
        var chosen = concepts
        if let wanted = options.concepts {
            let known = Set(concepts.map(\.id))
            let unknown = wanted.filter { !known.contains($0) }
            guard unknown.isEmpty else {
                throw RecordError(file: "--concepts", problem: "unknown concept id(s) \(unknown.joined(separator: ", ")); `kmerl-kb concepts` lists them")
            }
            let set = Set(wanted)
            chosen = concepts.filter { set.contains($0.id) }
        }
        chosen = scorer.scorable(chosen).sorted { $0.id < $1.id }
        guard !chosen.isEmpty else {
            throw RecordError(file: "knowledge base", problem: "the model can score none of the selected concepts")
        }
        self.reader = reader
        self.measurer = measurer
        self.scorer = scorer
        self.concepts = chosen
        self.codes = chosen.map(\.codesText)
        self.options = options
        self.findingScorer = FindingScorer(bands: options.bands)
        self.rule = rule
        self.consistency = consistency
        // Aggregates are judged against the whole ontology, so that a parent stays an aggregate
        // even when --concepts leaves out its children.
        self.deciding = rule.decidingConcepts(concepts).intersection(chosen.map(\.id))
        self.aggregates = rule.aggregateConcepts(concepts).intersection(chosen.map(\.id))
        var order: [String: Int] = [:]
        for concept in chosen { order[concept.id] = Self.categoryOrder.firstIndex(of: concept.category) ?? Self.categoryOrder.count }
        self.statementOrder = order
    }

    /// Classifies one input.
    func classify(_ input: BatchInput, timings: inout RecordTimings) throws -> RecordResult {
        let clock = ContinuousClock()
        var start = clock.now
        var record = try reader.read(input)
        timings.read = (clock.now - start).seconds
        if let wanted = options.leads {
            record = record.keeping(wanted)
            guard !record.leads.isEmpty else {
                let names = wanted.sorted().map(\.name).joined(separator: ",")
                throw RecordError(file: input.primary.path, problem: "none of the requested leads (\(names)) is in the record")
            }
        }
        guard !record.standardLeads.isEmpty else {
            throw RecordError(file: input.primary.path, problem: "no standard ECG lead (I, II, III, aVR, aVL, aVF, V1–V6) in the record")
        }
        start = clock.now
        let measurements = try measurer.measure(record)
        timings.measure = (clock.now - start).seconds
        start = clock.now
        let scores = try scorer.orderedScores(for: record, concepts: concepts)
        let present = record.standardLeads
        let facts = FindingScorer.RecordFacts(measurements, leadsPresent: present)
        var findings: [Finding] = []
        findings.reserveCapacity(concepts.count)
        for (k, concept) in concepts.enumerated() {
            guard k < scores.count, let score = scores[k] else { continue }
            findings.append(
                findingScorer.finding(
                    for: concept, codes: codes[k], encoder: score, measurements: measurements, facts: facts))
        }
        findings.sort { $0.probability != $1.probability ? $0.probability > $1.probability : $0.conceptID < $1.conceptID }
        timings.score = (clock.now - start).seconds
        let presentMeasurements = measurements.leads.filter { $0.lead.standardLead != nil }
        let quality = presentMeasurements.isEmpty ? 0 : presentMeasurements.map(\.quality).reduce(0, +) / Double(presentMeasurements.count)
        // No two contradictory findings are stated: the weaker is demoted before the overall
        // statement is decided, and "normal ECG" is not stated in an abnormal record.
        consistency.apply(to: &findings)
        let overall = rule.statement(findings: findings, deciding: deciding, aggregates: aggregates, measurements: measurements, quality: quality)
        consistency.demoteNormal(in: &findings, overall: overall, deciding: deciding, rule: rule)
        return RecordResult(
            recordID: record.id.isEmpty ? input.id : record.id, source: input.primary.path, format: record.sourceFormat,
            samplingRate: record.samplingRate, duration: record.duration, leadsPresent: present, measurements: measurements,
            findings: findings, overall: overall, quality: quality, warnings: record.warnings, record: record)
    }
}

extension Duration {
    /// The duration in seconds.
    var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) * 1e-18
    }
}
