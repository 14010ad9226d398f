import ECGCore
import ECGFormats
import ECGSignal
import Foundation
import KMERLTestSupport
import Knowledge
import Testing

@testable import Classification

/// Criteria as the ontology states them (QRS ≥ 120 ms for complete bundle branch block,
/// HR < 60 bpm for sinus bradycardia), checked against the signal layer's measurements of real
/// LUDB records.
@Suite struct CriteriaEvaluationTests {
    static let clbbb = Concept(
        id: "CLBBB", label: "complete left bundle branch block", category: .conduction,
        codes: [ConceptCode(system: .snomed, code: "733534002"), ConceptCode(system: .scp, code: "CLBBB")],
        criteria: [Criterion(measurement: "qrsDuration", minimum: 120, unit: "ms")])
    static let sbrad = Concept(
        id: "SBRAD", label: "sinus bradycardia", category: .rhythm,
        criteria: [Criterion(measurement: "heartRate", maximum: 59.99, unit: "bpm")])

    static func measure(_ name: String) throws -> (ECGRecord, RecordMeasurements) {
        let record = try ECGReader.read(try SharedData.url("ludb/data/\(name).hea"))
        return (record, MeasurementPipeline().measure(record))
    }

    @Test(arguments: ["24", "44", "51", "83"])
    func completeLBBBRecordsMeetTheQRSCriterion(record name: String) throws {
        let (record, m) = try Self.measure(name)
        let outcomes = CriteriaEvaluation.evaluate(Self.clbbb, measurements: m)
        let qrs = try #require(m.qrsDuration)
        #expect(qrs >= 120)
        #expect(outcomes.first?.satisfied == true)
        let evidence = CriteriaEvaluation.evidence(for: try #require(outcomes.first))
        #expect(evidence.supports)
        #expect(evidence.text == "QRS duration \(String(format: "%.0f", qrs)) ms ≥ 120 ms")
        #expect(!evidence.leads.isEmpty && Set(evidence.leads).isSubset(of: Set(record.standardLeads)))
        // A satisfied, well-cleared criterion lifts a hesitant encoder above 0.5.
        let finding = FindingScorer().finding(
            for: Self.clbbb, encoder: EncoderScore(probability: 0.4, similarity: 0.1), measurements: m, leadsPresent: record.standardLeads)
        if qrs >= 130 { #expect(finding.probability >= 0.5) }
        #expect(finding.probability > 0.4)
        #expect(finding.codes == "SNOMED:733534002;SCP:CLBBB")
    }

    @Test func narrowQRSOverrulesAConfidentEncoder() throws {
        // LUDB 1: sinus bradycardia, no bundle branch block.
        let (record, m) = try Self.measure("1")
        let qrs = try #require(m.qrsDuration)
        #expect(qrs < 110)
        let finding = FindingScorer().finding(
            for: Self.clbbb, encoder: EncoderScore(probability: 0.8, similarity: 0.3, perLead: [.v1: 0.9]), measurements: m,
            leadsPresent: record.standardLeads)
        #expect(finding.probability < 0.35)
        #expect(finding.qualifier == nil)
        #expect(finding.evidence.contains { $0.kind == "measurement" && !$0.supports && $0.text.contains("< 120 ms") })
        // Per-lead confidence follows: V1 alone cannot make up for a narrow QRS.
        #expect((finding.perLead[.v1] ?? 1) < 0.5)
        #expect(finding.perLead.count == record.standardLeads.count)
    }

    @Test func aViolatedDefiningMeasurementIsNeverStated() throws {
        // LUDB 1 has a narrow QRS: even an encoder at 0.9999 leaves complete LBBB at "consider".
        let (record, m) = try Self.measure("1")
        let finding = FindingScorer().finding(
            for: Self.clbbb, encoder: EncoderScore(probability: 0.9999, similarity: 0.6), measurements: m, leadsPresent: record.standardLeads)
        #expect(finding.probability > 0.8)
        #expect(finding.qualifier == .consider)
    }

    @Test func bradycardiaIsConfirmedByTheMeasuredRate() throws {
        let (record, m) = try Self.measure("1")
        let hr = try #require(m.heartRate)
        #expect(hr < 60)
        let finding = FindingScorer().finding(
            for: Self.sbrad, encoder: EncoderScore(probability: 0.3, similarity: 0.05), measurements: m, leadsPresent: record.standardLeads)
        #expect(finding.probability > 0.5)
        #expect(finding.evidence.first?.text.hasPrefix("heart rate ") == true)
    }

    @Test func absentLeadsGetNoPerLeadConfidence() throws {
        let (full, _) = try Self.measure("24")
        let record = full.keeping([.i, .ii])
        let m = MeasurementPipeline().measure(record)
        let finding = FindingScorer().finding(
            for: Self.clbbb, encoder: EncoderScore(probability: 0.5, similarity: 0.1, perLead: [.i: 0.4, .ii: 0.6]), measurements: m,
            leadsPresent: record.standardLeads)
        #expect(Set(finding.perLead.keys).isSubset(of: [.i, .ii]))
        #expect(finding.perLead[.v1] == nil)
    }

    /// Anterior infarction from limb leads only is not stated (its territory V1–V4 is not
    /// there); the same score is stated once a territory lead is recorded.
    @Test func aTerritoryFindingNeedsALeadOfItsTerritory() throws {
        let ami = Concept(id: "AMI", label: "anterior myocardial infarction", category: .infarction, territory: [.v1, .v2, .v3, .v4])
        let (full, _) = try Self.measure("44")
        let encoder = EncoderScore(probability: 0.9, similarity: 0.3, perLead: [.i: 0.8, .ii: 0.7, .v3: 0.9])
        let limb = full.keeping([.i, .ii])
        let fromLimb = FindingScorer().finding(for: ami, encoder: encoder, measurements: MeasurementPipeline().measure(limb), leadsPresent: limb.standardLeads)
        #expect(fromLimb.qualifier == .consider)
        #expect(abs(fromLimb.probability - 0.9) < 1e-9)  // the probability stays; only the statement is withheld
        let reason = try #require(fromLimb.evidence.first { $0.kind == "territory" })
        #expect(!reason.supports && reason.text.hasPrefix("no analysable lead of its territory (V1 V2 V3 V4)"))
        let withV3 = full.keeping([.i, .ii, .v3])
        let fromV3 = FindingScorer().finding(for: ami, encoder: encoder, measurements: MeasurementPipeline().measure(withV3), leadsPresent: withV3.standardLeads)
        #expect(fromV3.qualifier == .definite || fromV3.qualifier == .probable)
        #expect(!fromV3.evidence.contains { $0.kind == "territory" })
    }

    /// Low QRS voltage needs every limb lead low: one high lead refutes it, a low lead alone
    /// cannot confirm it. E07500 (CinC 2021, in mV) has 0.8 mV in lead I and 0.3 mV in lead III.
    @Test func lowVoltageNeedsEveryLeadOfTheGroup() throws {
        let lvolt = try #require(try DefaultKnowledge.embeddedOntology().concepts.first { $0.id == "LVOLT" })
        #expect(lvolt.criteria.map(\.measurement) == ["limbQRSVoltage"])
        let full = try ECGReader.read(SharedData.projectRoot.appendingPathComponent("Examples/incoming/E07500.hea"))
        func outcome(_ leads: Set<StandardLead>) -> CriterionOutcome? {
            let record = full.keeping(leads)
            return CriteriaEvaluation.evaluate(lvolt, measurements: MeasurementPipeline().measure(record)).first
        }
        let limb = try #require(outcome([.i, .ii, .iii, .aVR, .aVL, .aVF]))
        #expect(limb.satisfied == false)
        #expect(limb.leads == [.i])
        #expect((0.7...0.9).contains(limb.value ?? 0))
        #expect(CriteriaEvaluation.evidence(for: limb).text.hasPrefix("largest QRS voltage in the limb leads 0."))
        // Lead I alone is high enough to refute it.
        #expect(outcome([.i, .ii])?.satisfied == false)
        // Lead III alone is low, but the other limb leads were not seen: not decided.
        let iii = try #require(outcome([.iii]))
        #expect(iii.value == nil && iii.satisfied == nil)
        // A high LVOLT score from the encoder is overruled by the measurement.
        let finding = FindingScorer().finding(
            for: lvolt, encoder: EncoderScore(probability: 0.8, similarity: 0.3), measurements: MeasurementPipeline().measure(full),
            leadsPresent: full.standardLeads)
        #expect(finding.probability < 0.2)
    }

    @Test func unmeasurableValueIsNamedNotGuessed() {
        let outcome = CriteriaEvaluation.outcome(Criterion(measurement: "prInterval", minimum: 200, unit: "ms"), value: nil, leads: [])
        #expect(outcome.satisfied == nil)
        #expect(outcome.logOddsShift(borderlineMargin: 0.25) == 0)
        #expect(CriteriaEvaluation.evidence(for: outcome).text == "PR interval not measurable (criterion ≥ 200 ms)")
    }

    @Test func axisRangeReadsAsARange() {
        let lad = Criterion(measurement: "qrsAxis", minimum: -90, maximum: -30, unit: "deg")
        let inside = CriteriaEvaluation.outcome(lad, value: -45, leads: [.i, .aVF])
        #expect(inside.satisfied == true)
        #expect(CriteriaEvaluation.evidence(for: inside).text == "QRS axis -45° within -90…-30°")
        let outside = CriteriaEvaluation.outcome(lad, value: 60, leads: [.i, .aVF])
        #expect(outside.satisfied == false)
        #expect(outside.logOddsShift(borderlineMargin: 0.25) <= -2)
    }

    /// The shipped ontology's V1 criteria tell the two complete blocks apart on real LUDB records
    /// (complete LBBB: 24, 44, 51, 83; complete RBBB: 10, 23), even when the encoder cannot.
    @Test(arguments: [("24", "CLBBB"), ("44", "CLBBB"), ("51", "CLBBB"), ("83", "CLBBB"), ("10", "CRBBB"), ("23", "CRBBB")])
    func v1SeparatesLeftFromRightBundleBranchBlock(record name: String, expected: String) throws {
        let ontology = try Ontology.load(contentsOf: SharedData.projectRoot.appendingPathComponent("Ontology/kmerl-ontology.xml"))
        let (record, m) = try Self.measure(name)
        let undecided = EncoderScore(probability: 0.9, similarity: 0.3)
        var probability: [String: Double] = [:]
        for id in ["CLBBB", "CRBBB"] {
            let concept = try #require(ontology.concept(id: id))
            let finding = FindingScorer().finding(for: concept, encoder: undecided, measurements: m, leadsPresent: record.standardLeads)
            probability[id] = finding.probability
            let v1 = try #require(finding.evidence.first { $0.kind == "measurement" && $0.leads == [.v1] })
            #expect(v1.supports == (id == expected), "\(name) \(id): \(v1.text)")
        }
        let other = expected == "CLBBB" ? "CRBBB" : "CLBBB"
        #expect((probability[expected] ?? 0) > (probability[other] ?? 1) + 0.2, "\(name): \(probability)")
    }
}
