import ECGCore
import ECGFormats
import ECGSignal
import Foundation
import KMERLTestSupport
import Reports
import Testing

@testable import Classification

/// The measurements of a real record (LUDB 1), for rules that need analysable leads and beats.
enum MeasurementPipelineFixture {
    static func ludb1() throws -> RecordMeasurements {
        SignalMeasurer().pipeline.measure(try ECGReader.read(try SharedData.url("ludb/data/1.hea")))
    }
}

/// Mutual exclusion and subsumption between findings: the summary never states two findings that
/// contradict each other.
@Suite struct ConsistencyRulesTests {
    static func finding(_ id: String, _ p: Double, _ q: Qualifier?, zeroShot: Bool = false) -> Finding {
        var f = Finding(conceptID: id, label: id.lowercased(), codes: "", probability: p, qualifier: q)
        f.isZeroShot = zeroShot
        return f
    }

    static func byID(_ findings: [Finding]) -> [String: Finding] {
        Dictionary(uniqueKeysWithValues: findings.map { ($0.conceptID, $0) })
    }

    /// Stated: reported with more than "consider" and not demoted.
    static func stated(_ f: Finding?) -> Bool {
        guard let f, let q = f.qualifier else { return false }
        return q != .consider && f.demotion == nil
    }

    @Test func theBetterSupportedBundleBranchBlockIsKeptAndTheOtherDemotedWithTheReason() {
        var findings = [Self.finding("CRBBB", 0.72, .probable), Self.finding("CLBBB", 0.91, .definite), Self.finding("IRBBB", 0.55, .possible)]
        ConsistencyRules().apply(to: &findings)
        let f = Self.byID(findings)
        #expect(f["CLBBB"]?.qualifier == .definite && f["CLBBB"]?.demotion == nil)
        #expect(f["CRBBB"]?.qualifier == .consider)
        #expect(f["CRBBB"]?.demotion?.by == "CLBBB" && f["CRBBB"]?.demotion?.from == .probable)
        #expect(f["CRBBB"]?.demotion?.reason.contains("left and right bundle branch block") == true)
        // Incomplete right bundle branch block beside a complete left one: demoted too.
        #expect(f["IRBBB"]?.qualifier == .consider && f["IRBBB"]?.demotion?.by == "CLBBB")
        // Order is kept.
        #expect(findings.map(\.conceptID) == ["CRBBB", "CLBBB", "IRBBB"])
    }

    @Test func equallySupportedSidesAreNeitherStated() {
        // Both only with "QRS ≥ 120 ms" and close probabilities: nothing tells the side, so only
        // the general "bundle branch block" is stated.
        let qrs = Evidence(kind: "measurement", text: "QRS duration 150 ms ≥ 120 ms", supports: true)
        var clbbb = Self.finding("CLBBB", 0.97, .definite)
        var crbbb = Self.finding("CRBBB", 0.99, .definite)
        var bbb = Self.finding("BBB", 0.98, .definite)
        clbbb.evidence = [qrs]
        crbbb.evidence = [qrs]
        bbb.evidence = [qrs]
        var findings = [crbbb, bbb, clbbb]
        ConsistencyRules().apply(to: &findings)
        let f = Self.byID(findings)
        #expect(!Self.stated(f["CLBBB"]) && !Self.stated(f["CRBBB"]) && Self.stated(f["BBB"]))
        #expect(f["CLBBB"]?.demotion?.isUndecided == true && f["CRBBB"]?.demotion?.isUndecided == true)
        #expect(f["CRBBB"]?.demotion?.explanation.contains("equally supported") == true)
        // An R wave in V1 that fits only the left side decides it.
        var v1 = [crbbb, clbbb]
        v1[1].evidence.append(Evidence(kind: "measurement", text: "R amplitude 0.05 mV ≤ 0.20 mV", leads: [.v1], supports: true))
        ConsistencyRules().apply(to: &v1)
        let g = Self.byID(v1)
        #expect(Self.stated(g["CLBBB"]) && !Self.stated(g["CRBBB"]))
        #expect(g["CRBBB"]?.demotion?.by == "CLBBB" && g["CRBBB"]?.demotion?.isUndecided == false)
    }

    @Test func aSpecificFindingTakesTheGeneralOnesPlace() {
        var findings = [Self.finding("BBB", 0.99, .definite), Self.finding("CLBBB", 0.99, .definite), Self.finding("LAD", 0.9, .definite),
            Self.finding("LAFB", 0.86, .definite)]
        ConsistencyRules().apply(to: &findings)
        let f = Self.byID(findings)
        #expect(Self.stated(f["CLBBB"]) && f["BBB"]?.demotion?.isSubsumed == true)
        #expect(Self.stated(f["LAFB"]) && f["LAD"]?.demotion?.by == "LAFB")
    }

    @Test func aNormalAxisDoesNotMakeAnECGAbnormal() throws {
        let m = try MeasurementPipelineFixture.ludb1()
        let findings = [Self.finding("NAXIS", 0.71, .probable), Self.finding("SR", 0.95, .definite)]
        let overall = OverallStatementRule().statement(findings: findings, deciding: ["NAXIS", "SR"], measurements: m, quality: 1)
        #expect(overall == .normal)
        let rax = [Self.finding("RAXIS", 0.8, .definite), Self.finding("SR", 0.95, .definite)]
        #expect(OverallStatementRule().statement(findings: rax, deciding: ["RAXIS", "SR"], measurements: m, quality: 1) == .otherwiseNormal)
    }

    @Test func parentsThatAreStatementsDecideAggregatesDoNot() throws {
        let (concepts, _) = try DefaultKnowledge.concepts(in: nil)
        let deciding = OverallStatementRule().decidingConcepts(concepts)
        // Atrial fibrillation is the parent of its paroxysmal/persistent forms, inferior MI of its
        // sub-territories, first-degree AV block of "long PR": all are statements of their own.
        for id in ["AFIB", "IMI", "1AVB", "LVH", "PVC", "CLBBB", "VTACH"] { #expect(deciding.contains(id), "\(id)") }
        for id in ["MI", "CD", "HYP", "STTC", "LAFB/LPFB", "_AVB", "NORM"] { #expect(!deciding.contains(id), "\(id)") }
        // The PTB-XL classes are the aggregates, judged on their own; NORM is a statement of its own.
        let aggregates = OverallStatementRule().aggregateConcepts(concepts)
        for id in ["MI", "CD", "HYP", "STTC", "LAFB/LPFB", "_AVB"] { #expect(aggregates.contains(id), "\(id)") }
        #expect(aggregates.isDisjoint(with: deciding) && !aggregates.contains("NORM"))
    }

    /// "consider" makes a record borderline at most; a stated PTB-XL class decides like any
    /// abnormal finding, so the headline never says normal beside it.
    @Test func considerIsBorderlineAndAStatedClassDecides() throws {
        let m = try MeasurementPipelineFixture.ludb1()
        let rule = OverallStatementRule()
        let deciding: Set<String> = ["SR", "1AVB"]
        let aggregates: Set<String> = ["CD"]
        func overall(_ findings: [Finding]) -> OverallStatement {
            rule.statement(findings: findings, deciding: deciding, aggregates: aggregates, measurements: m, quality: 1)
        }
        #expect(overall([Self.finding("SR", 0.95, .definite), Self.finding("1AVB", 0.3, nil)]) == .normal)
        #expect(overall([Self.finding("SR", 0.95, .definite), Self.finding("1AVB", 0.45, .consider)]) == .borderline)
        #expect(overall([Self.finding("SR", 0.95, .definite), Self.finding("1AVB", 0.55, .possible)]) == .borderline)
        #expect(overall([Self.finding("SR", 0.95, .definite), Self.finding("CD", 0.3, nil)]) == .normal)
        #expect(overall([Self.finding("SR", 0.95, .definite), Self.finding("CD", 0.45, .consider)]) == .borderline)
        #expect(overall([Self.finding("SR", 0.95, .definite), Self.finding("CD", 0.55, .possible)]) == .borderline)
        #expect(overall([Self.finding("SR", 0.95, .definite), Self.finding("CD", 0.7, .probable)]) == .abnormal)
    }

    /// The headline shows why a record is abnormal or borderline: findings that decide it come
    /// before minor and normal statements, even when those are more probable.
    @Test func theHeadlineNamesWhatMakesTheRecordAbnormal() throws {
        let record = try ECGReader.read(try SharedData.url("ludb/data/10.hea"))
        let findings = [
            Self.finding("SR", 0.95, .definite), Self.finding("NAXIS", 0.71, .probable), Self.finding("SBRAD", 0.58, .possible),
            Self.finding("1AVB", 0.52, .possible), Self.finding("LVH", 0.4, .consider),
        ]
        let result = RecordResult(
            recordID: "10", source: "ludb/data/10.hea", format: record.sourceFormat, samplingRate: record.samplingRate,
            duration: record.duration, leadsPresent: record.standardLeads, measurements: .init(record: "10"), findings: findings,
            overall: .borderline, quality: 1, warnings: [], record: record)
        let top = ReportBuilder.top(result, count: 3, deciding: ["SR", "NAXIS", "SBRAD", "1AVB", "LVH"]).map(\.conceptID)
        #expect(top == ["SBRAD", "1AVB", "LVH"])
        // A stated class ranks after the specific findings of the same strength and before the
        // minor ones.
        var withClass = result
        withClass.findings.append(Self.finding("CD", 0.5, .possible))
        let ranked = ReportBuilder.top(withClass, count: 4, deciding: ["SR", "NAXIS", "SBRAD", "1AVB", "LVH"], aggregates: ["CD"]).map(\.conceptID)
        #expect(ranked == ["SBRAD", "1AVB", "LVH", "CD"])
        // Shown in statement order: the rhythm first, then conduction.
        let order = ["SBRAD": 0, "SR": 0, "1AVB": 1, "CD": 1, "LVH": 3, "NAXIS": 2]
        let printed = ReportBuilder.top(withClass, count: 4, deciding: ["SR", "NAXIS", "SBRAD", "1AVB", "LVH"], aggregates: ["CD"], order: order)
        #expect(printed.map(\.conceptID) == ["SBRAD", "1AVB", "CD", "LVH"])
        let withAxis = ReportBuilder.top(withClass, count: 6, deciding: ["SR", "NAXIS", "SBRAD", "1AVB", "LVH"], aggregates: ["CD"], order: order)
        #expect(withAxis.map(\.conceptID) == ["SR", "SBRAD", "1AVB", "CD", "NAXIS", "LVH"])
    }

    @Test func completeAndIncompleteBlockOfTheSameSideExcludeEachOther() {
        var findings = [Self.finding("IRBBB", 0.81, .definite), Self.finding("CRBBB", 0.66, .probable)]
        ConsistencyRules().apply(to: &findings)
        let f = Self.byID(findings)
        #expect(Self.stated(f["IRBBB"]) && !Self.stated(f["CRBBB"]))
        #expect(f["CRBBB"]?.demotion?.reason.contains("the QRS duration decides") == true)
    }

    @Test func aSingleRhythmIsStated() {
        // Sinus bradycardia and tachycardia: the better supported one stays.
        var rate = [Self.finding("STACH", 0.52, .possible), Self.finding("SBRAD", 0.85, .definite)]
        ConsistencyRules().apply(to: &rate)
        #expect(Self.stated(Self.byID(rate)["SBRAD"]) && Self.byID(rate)["STACH"]?.demotion?.by == "SBRAD")
        // Atrial fibrillation beats sinus rhythm when better supported, and flutter beside it is demoted.
        var af = [Self.finding("SR", 0.6, .possible), Self.finding("AFIB", 0.93, .definite), Self.finding("AFLT", 0.7, .probable)]
        ConsistencyRules().apply(to: &af)
        let a = Self.byID(af)
        #expect(Self.stated(a["AFIB"]) && !Self.stated(a["SR"]) && !Self.stated(a["AFLT"]))
        #expect(a["SR"]?.demotion?.reason.contains("single rhythm") == true)
        // Sinus bradycardia states the rhythm: "sinus rhythm" is not repeated, and says why.
        var sinus = [Self.finding("SR", 0.95, .definite), Self.finding("SBRAD", 0.7, .probable)]
        ConsistencyRules().apply(to: &sinus)
        let s = Self.byID(sinus)
        #expect(Self.stated(s["SBRAD"]) && s["SR"]?.demotion?.isSubsumed == true && s["SR"]?.qualifier == .consider)
        // … but a mere "possible sinus bradycardia" does not take the rhythm statement away.
        var weak = [Self.finding("SR", 0.95, .definite), Self.finding("SBRAD", 0.58, .possible)]
        ConsistencyRules().apply(to: &weak)
        #expect(Self.stated(Self.byID(weak)["SR"]) && Self.stated(Self.byID(weak)["SBRAD"]))
        // A possible sinus bradycardia that is more probable than "bradycardia" names its origin.
        var brady = [Self.finding("SBRAD", 0.58, .possible), Self.finding("BRADY", 0.52, .possible)]
        ConsistencyRules().apply(to: &brady)
        #expect(Self.byID(brady)["BRADY"]?.demotion?.isSubsumed == true)
    }

    @Test func leftAndRightAxisDeviationExcludeEachOther() {
        var findings = [Self.finding("LAD", 0.88, .definite), Self.finding("RAD", 0.6, .possible), Self.finding("NAXIS", 0.5, .possible)]
        ConsistencyRules().apply(to: &findings)
        let f = Self.byID(findings)
        #expect(Self.stated(f["LAD"]) && !Self.stated(f["RAD"]) && !Self.stated(f["NAXIS"]))
    }

    @Test func aCalibratedFindingOutranksAZeroShotScore() {
        var findings = [Self.finding("VTACH", 0.97, .consider, zeroShot: true), Self.finding("SR", 0.7, .probable)]
        ConsistencyRules().apply(to: &findings)
        let f = Self.byID(findings)
        #expect(Self.stated(f["SR"]) && f["VTACH"]?.demotion?.by == "SR")
    }

    @Test func normalECGIsNotProbableInAnAbnormalRecord() {
        var findings = [Self.finding("NORM", 0.7, .probable), Self.finding("CLBBB", 0.9, .definite), Self.finding("SR", 0.9, .definite)]
        let rule = OverallStatementRule()
        let deciding: Set<String> = ["CLBBB", "SR", "NORM"]
        ConsistencyRules().demoteNormal(in: &findings, overall: .abnormal, deciding: deciding, rule: rule)
        let f = Self.byID(findings)
        #expect(f["NORM"]?.qualifier == .consider && f["NORM"]?.demotion?.by == "CLBBB")
        // In a borderline record it is left alone.
        var borderline = [Self.finding("NORM", 0.7, .probable), Self.finding("CLBBB", 0.55, .possible)]
        ConsistencyRules().demoteNormal(in: &borderline, overall: .borderline, deciding: deciding, rule: rule)
        #expect(Self.byID(borderline)["NORM"]?.qualifier == .probable)
    }

    /// LUDB records with complete LBBB (24, 44, 51, 83) and complete RBBB (10, 23), from two limb
    /// leads only: V1 is absent, so nothing tells the sides apart by morphology, and the summary
    /// must not state both.
    @Test(arguments: [(["24", "44", "51", "83", "10", "23"], [StandardLead.i, .ii]), (["24", "44", "51", "83", "10", "23"], nil)])
    func ludbBundleBranchBlockRecordsNeverStateBothSides(ids: [String], leads: [StandardLead]?) throws {
        let batch = try BatchClassifier(store: nil, modelData: nil, options: ClassifyOptions(leads: leads.map(Set.init), jobs: 1))
        for id in ids {
            let url = try SharedData.url("ludb/data/\(id).hea")
            var timings = RecordTimings()
            let result = try batch.classifier.classify(BatchInput(id: id, primary: url), timings: &timings)
            let f = Self.byID(result.findings)
            #expect(!(Self.stated(f["CLBBB"]) && Self.stated(f["CRBBB"])), "record \(id) states both CLBBB and CRBBB")
            #expect(
                !(f["CLBBB"]?.qualifier != nil && f["CRBBB"]?.qualifier != nil && f["CLBBB"]?.demotion == nil && f["CRBBB"]?.demotion == nil),
                "record \(id): both bundle branch blocks reported without a demotion")
            let top = ReportBuilder.top(result, count: 3, deciding: batch.classifier.deciding).map(\.conceptID)
            #expect(!(top.contains("CLBBB") && top.contains("CRBBB")), "record \(id) top findings \(top)")
            if leads == nil {
                // With V1 the morphology decides: the LBBB records state CLBBB, the RBBB ones do not.
                if ["24", "44", "51", "83"].contains(id) {
                    #expect(Self.stated(f["CLBBB"]) && !Self.stated(f["CRBBB"]), "record \(id)")
                } else {
                    #expect(!Self.stated(f["CLBBB"]), "record \(id)")
                }
            }
        }
    }

    /// The examples shipped in Examples/incoming: no record page, summary or index states an
    /// excluded pair, and every demotion from a stated finding is explained on the page.
    @Test func examplesNeverStateAnExcludedPair() async throws {
        let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Examples/incoming")
        let dir = try SharedData.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out")
        let batch = try BatchClassifier(store: nil, modelData: nil, options: ClassifyOptions())
        let discovery = RecordDiscovery.discover([examples])
        let summary = try await batch.classify(discovery.records, skipped: discovery.skipped, into: out)
        #expect(summary.processed >= 5)
        let rules = ConsistencyRules()
        let rows = try BatchClassifierTests.csv(out.appendingPathComponent("findings.csv"))
        var pagesChecked = 0
        for (record, group) in Dictionary(grouping: rows, by: { $0["record_id"] ?? "" }) {
            let stated = Set(group.filter { !["", "consider"].contains($0["qualifier"] ?? "") }.compactMap { $0["concept_id"] })
            for rule in rules.exclusions {
                #expect(!(stated.contains(rule.a) && stated.contains(rule.b)), "\(record) states \(rule.a) and \(rule.b)")
            }
            guard let outcome = summary.outcomes.first(where: { $0.id == record }), let page = outcome.page else { continue }
            let html = try String(contentsOf: out.appendingPathComponent(page), encoding: .utf8)
            if let headline = html.range(of: "<h2>ECG</h2>") {
                let head = html[..<headline.lowerBound]
                for rule in rules.exclusions {
                    let labels = [rule.a, rule.b].compactMap { id in batch.classifier.concepts.first { $0.id == id }?.label }
                    guard labels.count == 2 else { continue }
                    let both = labels.allSatisfy { head.contains("<b>\(HTML.escape($0))</b>") || head.contains("<b>probable \(HTML.escape($0))</b>") || head.contains("<b>possible \(HTML.escape($0))</b>") }
                    #expect(!both, "\(record): headline states \(labels)")
                }
                pagesChecked += 1
            }
        }
        #expect(pagesChecked == summary.processed)
    }
}
