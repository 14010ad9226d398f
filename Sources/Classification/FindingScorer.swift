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
    /// Calibrated probability from each present lead alone.
    public var perLead: [StandardLead: Double]
    /// `false` when the concept has no calibration of its own (a zero-shot score through the
    /// model's global calibration): such a finding is at most "consider" and does not decide the
    /// overall statement.
    public var conceptCalibrated: Bool

    public init(probability: Double, similarity: Double, perLead: [StandardLead: Double] = [:], conceptCalibrated: Bool = true) {
        self.probability = probability
        self.similarity = similarity
        self.perLead = perLead
        self.conceptCalibrated = conceptCalibrated
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

    /// What is computed once per record for all its concepts.
    struct RecordFacts {
        var usableList: [StandardLead]
        var usable: Set<StandardLead>
        var measured: Set<StandardLead>

        init(_ measurements: RecordMeasurements) {
            usableList = CriteriaEvaluation.usableLeads(measurements)
            usable = Set(usableList)
            measured = Set(measurements.leads.compactMap(\.lead.standardLead))
        }
    }

    /// Scores `concept` for a record from its encoder score and measurements.
    public func finding(
        for concept: Concept, encoder: EncoderScore, measurements: RecordMeasurements, leadsPresent: [StandardLead]
    ) -> Finding {
        finding(for: concept, encoder: encoder, measurements: measurements, leadsPresent: leadsPresent, facts: RecordFacts(measurements))
    }

    func finding(
        for concept: Concept, encoder: EncoderScore, measurements: RecordMeasurements, leadsPresent: [StandardLead], facts: RecordFacts
    ) -> Finding {
        let outcomes = concept.criteria.isEmpty ? [] : CriteriaEvaluation.evaluate(concept, measurements: measurements, usableLeads: facts.usableList)
        let shift = outcomes.reduce(0) { $0 + $1.logOddsShift(borderlineMargin: bands.borderlineMargin) }
        let probability = Self.sigmoid(Self.logit(encoder.probability) + shift)
        let usable = facts.usable
        let measuredLeads = facts.measured
        var perLead: [StandardLead: Double] = [:]
        for lead in leadsPresent {
            // A lead the signal layer did not see (no measurement entry) is judged by the encoder alone.
            guard usable.contains(lead) || !measuredLeads.contains(lead) else { continue }
            let single = encoder.perLead[lead] ?? encoder.probability
            var leadShift = 0.0
            for outcome in outcomes {
                // Lead-level criteria speak only for the leads they were found in.
                if CriteriaEvaluation.leadKeys.contains(outcome.criterion.measurement) {
                    guard outcome.satisfied != nil else { continue }
                    if outcome.leads.contains(lead) || outcome.satisfied == false {
                        leadShift += outcome.logOddsShift(borderlineMargin: bands.borderlineMargin)
                    }
                } else {
                    leadShift += outcome.logOddsShift(borderlineMargin: bands.borderlineMargin)
                }
            }
            perLead[lead] = Self.sigmoid(Self.logit(single) + leadShift)
        }
        var evidence = outcomes.map(CriteriaEvaluation.evidence(for:))
        let supportingLeads = perLead.filter { $0.value >= bands.possible }.map(\.key).sorted()
        evidence.append(
            Evidence(
                kind: "encoder",
                text: "encoder probability \(NumberText.fixed(encoder.probability, 2)) (similarity \(NumberText.fixed(encoder.similarity, 3)))"
                    + (encoder.conceptCalibrated ? "" : "; zero-shot: the concept has no calibration of its own"),
                leads: supportingLeads,
                supports: encoder.probability >= bands.possible))
        let nearBound = outcomes.contains { $0.satisfied == true && $0.margin < bands.borderlineMargin }
        var qualifier = bands.qualifier(for: probability, nearBound: nearBound)
        // A zero-shot score stands on its own only when the ontology's criteria confirm it.
        let confirmed = !outcomes.isEmpty && outcomes.allSatisfy { $0.satisfied == true }
        let zeroShot = !encoder.conceptCalibrated && !confirmed
        if zeroShot, qualifier != nil, qualifier != .borderline { qualifier = .consider }
        var finding = Finding(
            conceptID: concept.id, label: concept.label, codes: concept.codesText, probability: probability,
            qualifier: qualifier, perLead: perLead, evidence: evidence)
        finding.isZeroShot = zeroShot
        return finding
    }
}
