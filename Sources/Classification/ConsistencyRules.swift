import Foundation
import Knowledge

/// Clinical consistency between findings, so that a record's summary never states two findings
/// that contradict each other.
///
/// Two kinds of rule, kept as data (`exclusions`, `subsumptions`):
/// - **exclusion**: two concepts cannot both hold in one tracing (complete left vs right bundle
///   branch block, sinus tachycardia vs sinus bradycardia, sinus rhythm vs atrial fibrillation,
///   left vs right axis deviation …). When both are reported, the better-supported one is kept
///   and the other is demoted to at most "consider", with the reason;
/// - **subsumption**: a more specific statement makes a general one redundant (sinus bradycardia
///   states the rhythm, so "sinus rhythm" is not stated beside it; complete left bundle branch
///   block names the side of a "bundle branch block"); only when the specific one is stated at
///   least "probable" or is at least as probable as the general one.
///
/// When two excluding findings rest on the same satisfied measurements and their probabilities
/// are within `undecidedMargin`, neither is better supported and neither is stated (both are
/// demoted, "undecided"); a more general finding (e.g. "bundle branch block") may still be.
///
/// "Better supported" means: a finding with its own calibration before an uncalibrated zero-shot
/// one, then the higher probability (which already combines the encoder with the measurement
/// criteria, e.g. QRS duration and the R wave in V1 for the bundle branch blocks), then more
/// satisfied measurement criteria. Findings are visited strongest first, so a finding is demoted
/// only by one that is itself kept.
///
/// A further rule needs the overall statement: "normal ECG" is never stated "probable" (or
/// stronger) in a record whose overall statement is abnormal (`demoteNormal`).
public struct ConsistencyRules: Sendable {
    /// Two concepts that exclude each other, with the reason shown on the record page.
    public struct Exclusion: Sendable, Hashable {
        public var a: String
        public var b: String
        public var reason: String

        public init(_ a: String, _ b: String, reason: String) {
            self.a = a
            self.b = b
            self.reason = reason
        }
    }

    /// A specific concept that makes a general one redundant when stated.
    public struct Subsumption: Sendable, Hashable {
        public var specific: String
        public var general: String
        public var reason: String

        public init(specific: String, general: String, reason: String) {
            self.specific = specific
            self.general = general
            self.reason = reason
        }
    }

    /// Two excluding findings with the same satisfied measurement criteria whose probabilities
    /// differ by less than this are "undecided": neither is stated (e.g. left vs right bundle branch
    /// block from limb leads only, where nothing measured tells the sides apart).
    public var undecidedMargin: Double
    public var exclusions: [Exclusion]
    public var subsumptions: [Subsumption]
    /// The concept stating a normal ECG (`NORM`).
    public var normalConcept: String
    private var excluded: [String: [(other: String, reason: String)]]
    /// Every concept some rule names.
    private var involved: Set<String>

    /// Rules from tables (the defaults when omitted).
    public init(
        exclusions: [Exclusion] = ConsistencyRules.defaultExclusions, subsumptions: [Subsumption] = ConsistencyRules.defaultSubsumptions,
        normalConcept: String = "NORM", undecidedMargin: Double = 0.1
    ) {
        self.undecidedMargin = undecidedMargin
        self.exclusions = exclusions
        self.subsumptions = subsumptions
        self.normalConcept = normalConcept
        var excluded: [String: [(other: String, reason: String)]] = [:]
        for rule in exclusions {
            excluded[rule.a, default: []].append((rule.b, rule.reason))
            excluded[rule.b, default: []].append((rule.a, rule.reason))
        }
        self.excluded = excluded
        self.involved = Set(excluded.keys).union(subsumptions.flatMap { [$0.specific, $0.general] })
    }

    /// Every pair of `group` excludes each other, for the same reason.
    static func pairs(_ group: [String], reason: String) -> [Exclusion] {
        var out: [Exclusion] = []
        for i in group.indices { for j in group.indices where j > i { out.append(Exclusion(group[i], group[j], reason: reason)) } }
        return out
    }

    /// Every concept of `left` excludes every concept of `right`.
    static func cross(_ left: [String], _ right: [String], reason: String) -> [Exclusion] {
        left.flatMap { a in right.map { b in Exclusion(a, b, reason: reason) } }
    }

    /// The default exclusions (concept ids of the embedded ontology).
    public static let defaultExclusions: [Exclusion] =
        // Bundle branch blocks: one side, complete or incomplete.
        [Exclusion("CLBBB", "CRBBB", reason: "complete left and right bundle branch block exclude each other; QRS morphology in V1 decides")]
        + [Exclusion("CLBBB", "ILBBB", reason: "complete and incomplete left bundle branch block exclude each other; the QRS duration decides")]
        + [Exclusion("CRBBB", "IRBBB", reason: "complete and incomplete right bundle branch block exclude each other; the QRS duration decides")]
        + cross(["CLBBB", "ILBBB"], ["IRBBB"], reason: "left bundle branch block and incomplete right bundle branch block exclude each other")
        + [Exclusion("ILBBB", "CRBBB", reason: "incomplete left and complete right bundle branch block exclude each other")]
        // Rhythm: a single rhythm statement.
        + [Exclusion("SBRAD", "STACH", reason: "a heart rate cannot be both below 60 and above 100 bpm")]
        + cross(
            ["SR", "SBRAD", "STACH", "SARRH"], ["AFIB", "AFLT", "AFAFL"],
            reason: "sinus rhythm and atrial fibrillation or flutter exclude each other: a single rhythm is stated")
        + pairs(["AFIB", "AFLT", "AFAFL"], reason: "a single atrial rhythm is stated")
        + cross(
            ["SR", "SBRAD", "STACH", "SARRH", "AFIB", "AFLT", "AFAFL"], ["VTACH", "VF", "VFL"],
            reason: "a ventricular rhythm and a supraventricular rhythm exclude each other: a single rhythm is stated")
        + cross(["SR", "SBRAD", "STACH"], ["SVTAC", "PSVT", "ATACH", "JTACH", "AJR", "AIVR"],
            reason: "sinus rhythm and an ectopic rhythm exclude each other: a single rhythm is stated")
        // Frontal QRS axis: one direction.
        + [Exclusion("LAD", "RAD", reason: "the QRS axis cannot deviate both left and right")]
        + cross(["LAD", "LAFB"], ["NAXIS"], reason: "a left-deviated QRS axis is not a normal axis")
        + cross(["RAD", "LPFB"], ["NAXIS"], reason: "a right-deviated QRS axis is not a normal axis")
        + [Exclusion("LAD", "RAXIS", reason: "left axis deviation and a right axis type exclude each other")]
        + [Exclusion("RAD", "LAXIS", reason: "right axis deviation and a left axis type exclude each other")]
        + [Exclusion("LAXIS", "RAXIS", reason: "a left and a right axis type exclude each other")]
        + [Exclusion("LAFB", "LPFB", reason: "left anterior and left posterior fascicular block exclude each other (opposite axes)")]
        + [Exclusion("LAFB", "RAD", reason: "left anterior fascicular block needs a left-deviated axis")]
        + [Exclusion("LPFB", "LAD", reason: "left posterior fascicular block needs a right-deviated axis")]

    /// The default subsumptions.
    public static let defaultSubsumptions: [Subsumption] = [
        Subsumption(specific: "SBRAD", general: "SR", reason: "sinus bradycardia states the rhythm: sinus rhythm is not stated again"),
        Subsumption(specific: "STACH", general: "SR", reason: "sinus tachycardia states the rhythm: sinus rhythm is not stated again"),
        Subsumption(specific: "SBRAD", general: "BRADY", reason: "sinus bradycardia names the bradycardia's origin"),
        Subsumption(specific: "CLBBB", general: "BBB", reason: "complete left bundle branch block names the side of the bundle branch block"),
        Subsumption(specific: "CRBBB", general: "BBB", reason: "complete right bundle branch block names the side of the bundle branch block"),
        Subsumption(specific: "LAFB", general: "LAD", reason: "left anterior fascicular block includes the left axis deviation"),
        Subsumption(specific: "LPFB", general: "RAD", reason: "left posterior fascicular block includes the right axis deviation"),
        Subsumption(specific: "VAXIS", general: "NAXIS", reason: "a vertical axis is a normal axis: the axis is stated once"),
    ]

    /// Whether `f` is stronger than `g` ("better supported").
    static func isStronger(_ f: Finding, than g: Finding) -> Bool {
        isStronger(f, support: satisfiedCriteria(f), than: g, support: satisfiedCriteria(g))
    }

    static func satisfiedCriteria(_ f: Finding) -> Int {
        f.evidence.reduce(0) { $0 + ($1.kind == "measurement" && $1.supports ? 1 : 0) }
    }

    static func isStronger(_ f: Finding, support fs: Int, than g: Finding, support gs: Int) -> Bool {
        if f.isZeroShot != g.isZeroShot { return !f.isZeroShot }
        if f.probability != g.probability { return f.probability > g.probability }
        if fs != gs { return fs > gs }
        return f.conceptID < g.conceptID
    }

    /// Demotes `f` to at most "consider", recording why.
    static func demote(_ f: inout Finding, by winner: Finding, reason: String, subsumed: Bool = false, undecided: Bool = false) {
        guard let qualifier = f.qualifier, f.demotion == nil else { return }
        f.demotion = Demotion(by: winner.conceptID, byLabel: winner.label, from: qualifier, reason: reason)
        f.demotion?.isSubsumed = subsumed
        f.demotion?.isUndecided = undecided
        if qualifier != .consider { f.qualifier = .consider }
    }

    /// Applies the exclusions and subsumptions to a record's findings (order kept).
    public func apply(to findings: inout [Finding]) {
        // Only findings a rule names can conflict.
        let reported = findings.indices.filter { findings[$0].qualifier != nil && involved.contains(findings[$0].conceptID) }
        guard reported.count > 1 else { return }
        let support = reported.map { Self.satisfiedCriteria(findings[$0]) }
        let order = reported.indices.sorted {
            Self.isStronger(findings[reported[$0]], support: support[$0], than: findings[reported[$1]], support: support[$1])
        }.map { reported[$0] }
        var supportOf: [Int: Int] = [:]
        for (k, i) in reported.enumerated() { supportOf[i] = support[k] }
        var kept: [String: Int] = [:]
        for i in order {
            let id = findings[i].conceptID
            if let rivals = excluded[id],
                let (winner, reason) = rivals.lazy.compactMap({ r in kept[r.other].map { ($0, r.reason) } }).first
            {
                let w = findings[winner]
                let close = !w.isZeroShot && !findings[i].isZeroShot && w.demotion == nil && findings[i].qualifier != .consider
                    && w.probability - findings[i].probability < undecidedMargin
                if close && supportOf[winner] == supportOf[i] {
                    // Neither is better supported: neither is stated. The first stays in `kept`
                    // so that it still excludes weaker rivals.
                    let loser = findings[i]
                    Self.demote(&findings[winner], by: loser, reason: reason, undecided: true)
                    Self.demote(&findings[i], by: w, reason: reason, undecided: true)
                } else if close && (supportOf[i] ?? 0) > (supportOf[winner] ?? 0) {
                    // Nearly as probable and more measurements for it: the measurements decide.
                    Self.demote(&findings[winner], by: findings[i], reason: reason)
                    kept[w.conceptID] = nil
                    kept[id] = i
                } else {
                    Self.demote(&findings[i], by: w, reason: reason)
                }
                continue
            }
            kept[id] = i
        }
        for rule in subsumptions {
            // Only a specific finding stated at least "probable" (or "borderline"), or at least as
            // probable as the general one, takes its place: "sinus rhythm" stays beside a mere
            // "possible sinus bradycardia".
            guard let s = kept[rule.specific], let g = kept[rule.general], let q = findings[s].qualifier, q != .consider,
                q == .definite || q == .probable || q == .borderline || findings[s].probability >= findings[g].probability,
                findings[s].demotion == nil
            else { continue }
            Self.demote(&findings[g], by: findings[s], reason: rule.reason, subsumed: true)
        }
    }

    /// In a record whose overall statement is abnormal, "normal ECG" is at most "consider",
    /// demoted by the strongest abnormal finding.
    public func demoteNormal(in findings: inout [Finding], overall: OverallStatement, deciding: Set<String>, rule: OverallStatementRule) {
        guard overall == .abnormal, let n = findings.firstIndex(where: { $0.conceptID == normalConcept }),
            let q = findings[n].qualifier, q != .consider
        else { return }
        let abnormal = findings.filter {
            $0.demotion == nil && !$0.isZeroShot && deciding.contains($0.conceptID) && !rule.normalConcepts.contains($0.conceptID)
                && !rule.minorConcepts.contains($0.conceptID) && ($0.qualifier == .definite || $0.qualifier == .probable)
        }
        guard let worst = abnormal.max(by: { Self.isStronger($1, than: $0) }) else { return }
        Self.demote(&findings[n], by: worst, reason: "the ECG is abnormal (\(worst.label)), so it is not stated as normal")
    }
}
