import ECGCore
import ECGSignal
import Foundation
import Knowledge

/// Decides a record's overall statement (normal / otherwise normal / borderline / abnormal /
/// uninterpretable) from its findings, in the style of the AHA/ACC/HRS 2007 recommendations.
///
/// - uninterpretable: no analysable lead, no beat found, or overall quality below `minimumQuality`;
/// - abnormal: a reported finding that is neither normal nor minor, stated definitely or "probable";
/// - borderline: such findings only as "possible", "borderline" or "consider";
/// - otherwise normal: only minor findings (sinus bradycardia, sinus tachycardia, sinus arrhythmia);
/// - normal: nothing reported beyond normal statements.
///
/// "consider" (below the "possible" band) still makes a record borderline: on the 1,625 PTB-XL
/// records (`Benchmarks/classify.sh`, audit) letting it decide nothing called 107 of the 748
/// records with only abnormal diagnostic labels normal or otherwise normal instead of 61, for 45
/// fewer borderline calls among the 850 labelled only NORM — a missed abnormality costs more.
///
/// Overall and technical concepts and unconfirmed zero-shot findings are scored and listed but do
/// not decide the statement; neither do findings demoted by a consistency rule
/// (`ConsistencyRules`), which a better-supported finding excludes. Aggregate concepts (the
/// PTB-XL superclasses and subclasses that group other concepts: MI, CD, LAFB/LPFB …) decide like
/// any abnormal finding once stated, so that the headline never says "normal ECG" beside a stated
/// "probable conduction disturbance".
public struct OverallStatementRule: Sendable {
    /// Concepts that state normality (`NORM`, `SR`).
    public var normalConcepts: Set<String>
    /// Concepts that leave an ECG "otherwise normal".
    public var minorConcepts: Set<String>
    /// Overall quality below which the record is uninterpretable.
    public var minimumQuality: Double

    /// The defaults: normal ECG, sinus rhythm and the normal axis types (normal, vertical, left
    /// type −30…30°) state normality; sinus brady-/tachycardia, sinus arrhythmia and the right axis
    /// type (90…120°, normal in the young) and a bradycardia of unstated origin leave an ECG
    /// otherwise normal.
    public init(
        normalConcepts: Set<String> = ["NORM", "SR", "NAXIS", "VAXIS", "LAXIS"],
        minorConcepts: Set<String> = ["SBRAD", "STACH", "SARRH", "BRADY", "RAXIS"], minimumQuality: Double = 0.2
    ) {
        self.normalConcepts = normalConcepts
        self.minorConcepts = minorConcepts
        self.minimumQuality = minimumQuality
    }

    /// The concepts that decide the statement: all but the aggregates, overall and technical ones.
    ///
    /// An aggregate is a PTB-XL superclass or subclass grouping other concepts (`MI`, `CD`,
    /// `LAFB/LPFB`, `_AVB` …): a parent of another concept with a PTB-XL class code and no SCP-ECG
    /// statement of its own. A parent that is itself a statement (atrial fibrillation over its
    /// paroxysmal and persistent forms, inferior MI over its sub-territories, first-degree AV block)
    /// decides like any other finding.
    public func decidingConcepts(_ concepts: [Concept]) -> Set<String> {
        statementConcepts(concepts, aggregates: false)
    }

    /// The aggregates among `concepts` (PTB-XL classes grouping other concepts, see
    /// `decidingConcepts`): a stated one makes the record abnormal ("probable" or definite) or
    /// borderline ("possible", "consider").
    public func aggregateConcepts(_ concepts: [Concept]) -> Set<String> {
        statementConcepts(concepts, aggregates: true)
    }

    /// The concepts that can take part in the statement (not overall or technical ones): the
    /// aggregates among them, or the others.
    private func statementConcepts(_ concepts: [Concept], aggregates: Bool) -> Set<String> {
        let parents = Set(concepts.flatMap(\.parents))
        return Set(
            concepts.filter { Self.isAggregate($0, parents: parents) == aggregates && $0.category != .overall && $0.category != .technical }
                .map(\.id))
    }

    static func isAggregate(_ c: Concept, parents: Set<String>) -> Bool {
        guard parents.contains(c.id) else { return false }
        let systems = Set(c.codes.map(\.system))
        return !systems.contains(.scp) && (systems.contains(.ptbxlClass) || systems.contains(.ptbxlSubclass))
    }

    /// The statement for one record.
    public func statement(
        findings: [Finding], deciding: Set<String>, aggregates: Set<String> = [], measurements: RecordMeasurements, quality: Double
    ) -> OverallStatement {
        let usable = measurements.leads.contains { $0.status == .ok }
        if !usable || measurements.beats.isEmpty || quality < minimumQuality { return .uninterpretable }
        let stated = findings.filter { $0.qualifier != nil && !$0.isZeroShot && $0.demotion == nil }
        let reported = stated.filter { deciding.contains($0.conceptID) && !normalConcepts.contains($0.conceptID) }
        let major = reported.filter { !minorConcepts.contains($0.conceptID) }
        if major.contains(where: { $0.qualifier == .definite || $0.qualifier == .probable }) { return .abnormal }
        let statedAggregates = stated.filter { aggregates.contains($0.conceptID) }
        if statedAggregates.contains(where: { $0.qualifier == .definite || $0.qualifier == .probable }) { return .abnormal }
        if !statedAggregates.isEmpty { return .borderline }
        if !major.isEmpty { return .borderline }
        if !reported.isEmpty { return .otherwiseNormal }
        return .normal
    }
}
