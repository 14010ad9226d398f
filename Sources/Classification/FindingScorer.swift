import ECGCore
import ECGSignal
import Foundation
import Knowledge
import Reports

/// What the encoder says about one concept for one record, before the measurement criteria.
public struct EncoderScore: Sendable, Hashable {
    /// Calibrated probability from the whole (present) lead set.
    public var probability: Double
    /// Similarity between the record's and the concept's embeddings (cosine).
    public var similarity: Double
    /// Calibrated probability from each present lead alone, in fixed lead slots.
    public var leadProbability: LeadValues
    /// `false` when the concept has no calibration of its own (a zero-shot score through the
    /// model's global calibration): such a finding is at most "consider" and does not decide the
    /// overall statement.
    public var conceptCalibrated: Bool

    public init(probability: Double, similarity: Double, perLead: [StandardLead: Double] = [:], conceptCalibrated: Bool = true) {
        self.init(probability: probability, similarity: similarity, leadProbability: LeadValues(perLead), conceptCalibrated: conceptCalibrated)
    }

    /// A score with its per-lead probabilities in fixed lead slots.
    public init(probability: Double, similarity: Double, leadProbability: LeadValues, conceptCalibrated: Bool = true) {
        self.probability = probability
        self.similarity = similarity
        self.leadProbability = leadProbability
        self.conceptCalibrated = conceptCalibrated
    }

    /// Calibrated probability from each present lead alone (a dictionary view of `leadProbability`).
    public var perLead: [StandardLead: Double] {
        get { leadProbability.dictionary }
        set { leadProbability = LeadValues(newValue) }
    }
}

/// Combines the encoder's calibrated probability with the ontology's measurement criteria into a
/// finding with evidence, per-lead confidence and a qualifier.
///
/// The combination works in log-odds: each criterion that could be measured shifts the encoder's
/// log-odds (`CriterionOutcome.logOddsShift`), so a definitional measurement (QRS ≥ 120 ms for a
/// bundle branch block, HR < 60 bpm for bradycardia, PR > 200 ms for first-degree AV block, the QRS
/// axis for axis deviation) can confirm or overrule the encoder while the encoder still tells apart
/// findings that share a criterion. Per-lead confidence applies the same shifts to the encoder's
/// single-lead probability, for the leads that were analysed; unusable and absent leads get none.
public struct FindingScorer: Sendable {
    /// The qualifier bands.
    public var bands: QualifierBands

    public init(bands: QualifierBands = QualifierBands()) {
        self.bands = bands
    }

    static func logit(_ p: Double) -> Double {
        let q = min(max(p, 1e-4), 1 - 1e-4)
        return log(q / (1 - q))
    }

    static func sigmoid(_ x: Double) -> Double { 1 / (1 + exp(-x)) }

    /// Orders qualifiers from weakest to strongest ("borderline" ranks with "possible").
    static func strength(_ q: Qualifier) -> Int {
        switch q {
        case .consider: 0
        case .possible, .borderline: 1
        case .probable: 2
        case .definite: 3
        }
    }

    /// What is computed once per record for all its concepts.
    struct RecordFacts {
        var usableList: [StandardLead]
        /// The present leads a finding speaks for (per-lead confidence, lead territory): those the
        /// signal layer analysed, and those it did not see at all (judged by the encoder alone);
        /// an unusable lead speaks for nothing.
        var judged: [StandardLead]
        /// Per lead slot: in `judged`.
        var isJudged: [Bool]

        init(_ measurements: RecordMeasurements, leadsPresent: [StandardLead]) {
            usableList = CriteriaEvaluation.usableLeads(measurements)
            var usable = Array(repeating: false, count: StandardLead.allCases.count)
            var measured = usable
            for lead in usableList { usable[lead.rawValue] = true }
            for m in measurements.leads { if let lead = m.lead.standardLead { measured[lead.rawValue] = true } }
            judged = leadsPresent.filter { usable[$0.rawValue] || !measured[$0.rawValue] }
            isJudged = Array(repeating: false, count: StandardLead.allCases.count)
            for lead in judged { isJudged[lead.rawValue] = true }
        }
    }

    /// Scores `concept` for a record from its encoder score and measurements.
    public func finding(
        for concept: Concept, encoder: EncoderScore, measurements: RecordMeasurements, leadsPresent: [StandardLead]
    ) -> Finding {
        finding(
            for: concept, codes: concept.codesText, encoder: encoder, measurements: measurements,
            facts: RecordFacts(measurements, leadsPresent: leadsPresent))
    }

    func finding(
        for concept: Concept, codes: String, encoder: EncoderScore, measurements: RecordMeasurements, facts: RecordFacts
    ) -> Finding {
        let outcomes = concept.criteria.isEmpty ? [] : CriteriaEvaluation.evaluate(concept, measurements: measurements, usableLeads: facts.usableList)
        let margin = bands.borderlineMargin
        let shifts = outcomes.map { $0.logOddsShift(borderlineMargin: margin) }
        let shift = shifts.reduce(0, +)
        let probability = Self.sigmoid(Self.logit(encoder.probability) + shift)
        // Lead-level criteria speak only for the leads they were found in (or against every lead
        // when violated); record-level ones for every lead.
        let leadLevel = outcomes.map { CriteriaEvaluation.leadKeys.contains($0.criterion.measurement) }
        var perLead = LeadValues()
        for lead in facts.judged {
            let single = encoder.leadProbability[lead] ?? encoder.probability
            var leadShift = 0.0
            for (k, outcome) in outcomes.enumerated() {
                if leadLevel[k] {
                    guard outcome.satisfied != nil else { continue }
                    if outcome.satisfied == false || outcome.leads.contains(lead) { leadShift += shifts[k] }
                } else {
                    leadShift += shifts[k]
                }
            }
            perLead[lead] = Self.sigmoid(Self.logit(single) + leadShift)
        }
        var evidence = outcomes.map(CriteriaEvaluation.evidence(for:))
        let supportingLeads = StandardLead.allCases.filter { (perLead[$0] ?? 0) >= bands.possible }
        evidence.append(
            Evidence(
                kind: "encoder",
                text: "encoder probability \(NumberText.fixed(encoder.probability, 2)) (similarity \(NumberText.fixed(encoder.similarity, 3)))"
                    + (encoder.conceptCalibrated ? "" : "; zero-shot: the concept has no calibration of its own"),
                leads: supportingLeads,
                supports: encoder.probability >= bands.possible))
        let nearBound = outcomes.contains { $0.satisfied == true && $0.margin < margin }
        var qualifier = bands.qualifier(for: probability, nearBound: nearBound)
        // A finding whose defining measurement is violated is not stated, however sure the encoder
        // is (complete LBBB with a QRS of 116 ms): at most "possible" when the value lies within
        // the borderline margin of the bound, "consider" otherwise.
        if let q = qualifier, outcomes.contains(where: { $0.satisfied == false }) {
            let nearMiss = outcomes.allSatisfy { $0.satisfied != false || $0.margin < margin }
            let cap: Qualifier = nearMiss ? .possible : .consider
            if Self.strength(q) > Self.strength(cap) { qualifier = cap }
        }
        // A finding located in a lead territory (anterior infarction: V1–V4) is not stated from a
        // recording without any analysable lead of that territory: at most "consider", with the reason.
        if !concept.territory.isEmpty {
            if !concept.territory.contains(where: { facts.isJudged[$0.rawValue] }) {
                let territory = concept.territory.map(\.name).joined(separator: " ")
                evidence.append(
                    Evidence(
                        kind: "territory", text: "no analysable lead of its territory (\(territory)) was recorded: stated at most as \"consider\"",
                        leads: [], supports: false))
                if let q = qualifier, q != .consider { qualifier = .consider }
            }
        }
        // A zero-shot score stands on its own only when the ontology's criteria confirm it.
        let confirmed = !outcomes.isEmpty && outcomes.allSatisfy { $0.satisfied == true }
        let zeroShot = !encoder.conceptCalibrated && !confirmed
        if zeroShot, qualifier != nil, qualifier != .borderline { qualifier = .consider }
        var finding = Finding(
            conceptID: concept.id, label: concept.label, codes: codes, probability: probability,
            qualifier: qualifier, leadConfidence: perLead, evidence: evidence)
        finding.isZeroShot = zeroShot
        return finding
    }
}
