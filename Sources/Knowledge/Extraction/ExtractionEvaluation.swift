import Foundation

/// Compares extraction with the SCP-ECG statements of PTB-XL (`ptbxl_database.csv`, column
/// `scp_codes`): per statement precision, recall and F1, and their micro average.
///
/// A report is positive for a statement when the statement is a key of `scp_codes` (any
/// likelihood); it is predicted positive when a concept carrying that SCP code is found present or
/// uncertain. Ancestors do not count for their children: a mention of `MI` is not a mention of `IMI`.
/// A child counts for another statement only where PTB-XL labels it so (`impliedStatements`).
public struct ExtractionEvaluation: Sendable {
    /// PTB-XL labelling conventions where a statement implies another one: the voltage criteria for
    /// left ventricular hypertrophy (`VCLVH`, a form statement) carry the diagnostic `LVH` in 75% of
    /// the labelled reports of folds 1–8 (526 of 701).
    public static let impliedStatements: [String: [String]] = ["VCLVH": ["LVH"]]

    /// PTB-XL labelling conventions where two statements found in one report are labelled as one:
    /// the German device's "lateraler/anterolateraler infarkt" with "inferiorer infarkt" is labelled
    /// `ILMI` (inferolateral) rather than `LMI`/`ALMI` plus `IMI` (folds 1–8: 102 of 177 such reports
    /// carry ILMI, 0 carry ALMI alone).
    public static let combinedStatements: [(parts: Set<String>, whole: String)] = [
        (["IMI", "LMI"], "ILMI"), (["IMI", "ALMI"], "ILMI"),
    ]

    /// Statements PTB-XL does not label next to another one: left ventricular hypertrophy is not
    /// diagnosed in left bundle branch block (its voltage criteria do not apply); the German device's
    /// "linksschenkelblock linkshypertrophie möglich" carries LVH in 20 of the 194 reports of folds 1–8
    /// naming both.
    public static let excludedStatements: [(present: String, excluded: String)] = [("CLBBB", "LVH")]

    /// Concepts that leave a report normal in PTB-XL's labelling: the rhythm, the German axis types
    /// and minor signs. A report whose findings (present or uncertain) are all of these is labelled
    /// `NORM` although it does not say "normal" (folds 1–8: "sinusrhythmus verdacht auf
    /// p-sinistrocardiale lagetyp normal" 81%, "… periphere niederspannung" 87%, "… p-verbreiterung"
    /// 86%, isolated extrasystoles 71–74%; rhythm and axis alone 45–77%).
    public static let normalFindings: Set<String> = [
        "SR", "SARRH", "SBRAD", "STACH", "BRADY", "AVJR", "NAXIS", "LAXIS", "VAXIS", "RAXIS", "PMITR", "PWC", "LVOLTL",
        "PVC", "PAC",
    ]

    /// Statements next to which PTB-XL does not label `NORM` even when the report says "otherwise
    /// normal ECG": the infarction (MI) and hypertrophy (HYP) classes and the fascicular blocks
    /// (folds 1–8, reports where kmerl finds NORM and one of them: NORM on 14% with ASMI, 26% with IMI,
    /// 27% with LVH, 23% with LAO/LAE, 26% with LAFB — but 62% with IRBBB, 79% with IVCD, 92% with SR).
    public static let statementsExcludingNormal: Set<String> = [
        "IMI", "ASMI", "ILMI", "AMI", "ALMI", "INJAS", "LMI", "INJAL", "IPLMI", "IPMI", "INJIN", "INJLA", "PMI", "INJIL",
        "LVH", "LAO/LAE", "RVH", "RAO/RAE", "SEHYP", "LAFB", "LPFB",
    ]

    /// Statements that explain a left axis deviation other than a left anterior fascicular block: an
    /// inferior infarction, a left bundle branch block, pre-excitation — or a report calling the ECG normal.
    public static let otherCausesOfLeftAxisDeviation: Set<String> = [
        "IMI", "ILMI", "IPMI", "IPLMI", "CLBBB", "ILBBB", "WPW", "NORM",
    ]

    /// The statements of one report: those of its found concepts with `combinedStatements` and
    /// `excludedStatements` applied; `NORM` added when every found concept (ids in `concepts`, present or
    /// uncertain) is one of `normalFindings`, and removed next to `statementsExcludingNormal`; `LAFB`
    /// added when left axis deviation (`LAD`) is found present (ids in `definite`) and none of
    /// `otherCausesOfLeftAxisDeviation` is.
    public static func reportStatements(
        _ found: Set<String>, concepts: Set<String> = [], definite: Set<String> = []
    ) -> Set<String> {
        var result = found
        for (parts, whole) in combinedStatements where parts.isSubset(of: found) {
            result.subtract(parts)
            result.insert(whole)
        }
        for (present, excluded) in excludedStatements where found.contains(present) {
            result.remove(excluded)
        }
        if !concepts.isEmpty, concepts.isSubset(of: normalFindings) { result.insert("NORM") }
        if definite.contains("LAD"), result.isDisjoint(with: otherCausesOfLeftAxisDeviation) { result.insert("LAFB") }
        if !result.isDisjoint(with: statementsExcludingNormal) { result.remove("NORM") }
        return result
    }

    /// The SCP statements a found concept stands for, by concept id: its own SCP code plus
    /// `impliedStatements`. (A concept without an SCP code does not inherit its parent's: "periphere
    /// niederspannung", low voltage in the limb leads only, is not PTB-XL's `LVOLT`, labelled in 6%.)
    public static func statements(of concepts: [Concept]) -> [String: Set<String>] {
        var result: [String: Set<String>] = [:]
        for concept in concepts {
            guard let code = concept.codes.first(where: { $0.system == .scp })?.code else { continue }
            result[concept.id] = Set([code] + (impliedStatements[code] ?? []))
        }
        return result
    }

    /// Counts and scores for one SCP statement.
    public struct Score: Sendable, Hashable {
        public var code: String
        /// Reports labelled with the statement.
        public var support: Int
        /// Reports where the statement was predicted.
        public var predicted: Int
        /// Reports both labelled and predicted.
        public var truePositives: Int

        public var precision: Double { predicted == 0 ? 0 : Double(truePositives) / Double(predicted) }
        public var recall: Double { support == 0 ? 0 : Double(truePositives) / Double(support) }
        public var f1: Double { support + predicted == 0 ? 0 : 2 * Double(truePositives) / Double(support + predicted) }

        /// Reports where the text-only ceiling predicts the statement (see `run`: the majority labels
        /// of the reports sharing the report's normalised text).
        public var ceilingPredicted = 0
        /// Reports both labelled and predicted by the text-only ceiling.
        public var ceilingTruePositives = 0
        /// Precision of the text-only ceiling.
        public var ceilingPrecision: Double { ceilingPredicted == 0 ? 0 : Double(ceilingTruePositives) / Double(ceilingPredicted) }
        /// Recall of the text-only ceiling.
        public var ceilingRecall: Double { support == 0 ? 0 : Double(ceilingTruePositives) / Double(support) }
        /// F1 of the text-only ceiling.
        public var ceilingF1: Double {
            support + ceilingPredicted == 0 ? 0 : 2 * Double(ceilingTruePositives) / Double(support + ceilingPredicted)
        }
    }

    /// One report where extraction and labels disagree on a statement (for error analysis).
    public struct Disagreement: Sendable, Hashable {
        public var ecgID: String
        public var code: String
        /// `true`: labelled but not found (false negative); `false`: found but not labelled.
        public var missed: Bool
        public var report: String
    }

    /// The folds evaluated.
    public var folds: [Int]
    /// Reports evaluated.
    public var reports: Int
    /// Statements counted in the micro average need at least this many labelled reports.
    public var minimumSupport: Int
    /// Every SCP statement of the ontology, sorted by support (descending).
    public var scores: [Score]
    /// Disagreements, when requested.
    public var disagreements: [Disagreement]
    /// Wall time of extraction alone (seconds), all reports.
    public var extractionSeconds: Double

    /// The same scores (kmerl and ceiling) over the reports whose normalised text occurs at least
    /// twice in the folds: there the ceiling is a real limit, not the labels themselves.
    public var repeatedScores: [Score] = []
    /// Reports whose normalised text occurs at least twice in the folds.
    public var repeatedReports = 0
    /// Distinct normalised report texts in the folds.
    public var distinctTexts = 0

    /// Scores with `support >= minimumSupport`.
    public var frequentScores: [Score] { scores.filter { $0.support >= minimumSupport } }

    /// Micro-averaged precision, recall and F1 over the frequent statements.
    public var micro: (precision: Double, recall: Double, f1: Double) { Self.micro(frequentScores, ceiling: false) }

    /// The text-only ceiling, micro-averaged over the frequent statements (every report; a text seen
    /// once is labelled perfectly by its own majority, so this is an upper bound).
    public var ceilingMicro: (precision: Double, recall: Double, f1: Double) { Self.micro(frequentScores, ceiling: true) }

    /// Micro average of kmerl (`ceiling == false`) or of the text-only ceiling over the reports with
    /// a repeated text, over the statements frequent in all reports.
    public func repeatedMicro(ceiling: Bool) -> (precision: Double, recall: Double, f1: Double) {
        let frequent = Set(frequentScores.map(\.code))
        return Self.micro(repeatedScores.filter { frequent.contains($0.code) }, ceiling: ceiling)
    }

    /// Micro-averaged precision, recall and F1 of `scores`, of kmerl or of the ceiling.
    public static func micro(_ scores: [Score], ceiling: Bool) -> (precision: Double, recall: Double, f1: Double) {
        let tp = scores.reduce(0) { $0 + (ceiling ? $1.ceilingTruePositives : $1.truePositives) }
        let predicted = scores.reduce(0) { $0 + (ceiling ? $1.ceilingPredicted : $1.predicted) }
        let support = scores.reduce(0) { $0 + $1.support }
        let precision = predicted == 0 ? 0 : Double(tp) / Double(predicted)
        let recall = support == 0 ? 0 : Double(tp) / Double(support)
        let f1 = support + predicted == 0 ? 0 : 2 * Double(tp) / Double(support + predicted)
        return (precision, recall, f1)
    }

    /// The key under which reports count as the same text for the ceiling: lower-cased, runs of
    /// white space as one space, trimmed. Nothing else is removed (the "4.46 unbestätigter bericht"
    /// trailer is text a function could use).
    public static func normalizedText(_ text: String) -> String {
        text.lowercased().split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    /// Errors of the evaluation input.
    public struct InputError: Error, Sendable, CustomStringConvertible {
        public var file: String
        public var line: Int
        public var message: String
        public var description: String { "\(file):\(line): \(message)" }
    }

    /// Runs the extractor over the PTB-XL reports of `folds` in `database` and scores it.
    /// `collectDisagreementsFor` names statements whose disagreements are kept (empty: none).
    public static func run(
        database: URL, ontology: Ontology, folds: Set<Int>, minimumSupport: Int = 20,
        collectDisagreementsFor codes: Set<String> = []
    ) throws -> ExtractionEvaluation {
        let extractor = Extractor(concepts: ontology.concepts)
        // Concept id → the SCP statements it stands for.
        let statementsOfConcept = statements(of: ontology.concepts)
        let statements = Set(ontology.concepts.compactMap { $0.codes.first(where: { $0.system == .scp })?.code })

        let reader = try CSVReader(url: database)
        guard let idColumn = reader.column(named: "ecg_id"), let reportColumn = reader.column(named: "report"),
            let codesColumn = reader.column(named: "scp_codes"), let foldColumn = reader.column(named: "strat_fold")
        else {
            throw InputError(file: database.path, line: 1, message: "needs the columns ecg_id, report, scp_codes and strat_fold")
        }
        var support: [String: Int] = [:]
        var predicted: [String: Int] = [:]
        var truePositives: [String: Int] = [:]
        var disagreements: [Disagreement] = []
        // Per report: its text group, labels and kmerl's statements (for the ceiling).
        var groupOfText: [String: Int] = [:]
        var groupSize: [Int] = []
        var groupLabelCounts: [[String: Int]] = []
        var perReport: [(group: Int, labels: Set<String>, found: Set<String>)] = []
        var reports = 0
        var seconds = 0.0
        let clock = ContinuousClock()
        while try reader.nextRecord() {
            guard let fold = Int(try reader.string(at: foldColumn, column: "strat_fold").trimmingWhitespace()),
                folds.contains(fold)
            else { continue }
            reports += 1
            let text = try reader.string(at: reportColumn, column: "report")
            let labels = parseCodes(try reader.string(at: codesColumn, column: "scp_codes")).filter(statements.contains)
            let start = clock.now
            let mentions = extractor.extract(text)
            seconds += (clock.now - start).seconds
            var found: Set<String> = []
            var concepts: Set<String> = []
            var definite: Set<String> = []
            for mention in mentions where mention.assertion == .present || mention.assertion == .uncertain {
                concepts.insert(mention.conceptID)
                if mention.assertion == .present { definite.insert(mention.conceptID) }
                if let codes = statementsOfConcept[mention.conceptID] { found.formUnion(codes) }
            }
            found = reportStatements(found, concepts: concepts, definite: definite)
            for code in labels {
                support[code, default: 0] += 1
                if found.contains(code) { truePositives[code, default: 0] += 1 }
            }
            for code in found { predicted[code, default: 0] += 1 }
            let key = normalizedText(text)
            let group: Int
            if let existing = groupOfText[key] {
                group = existing
            } else {
                group = groupSize.count
                groupOfText[key] = group
                groupSize.append(0)
                groupLabelCounts.append([:])
            }
            groupSize[group] += 1
            for code in labels { groupLabelCounts[group][code, default: 0] += 1 }
            perReport.append((group, labels, found))
            if !codes.isEmpty {
                let id = try reader.string(at: idColumn, column: "ecg_id")
                for code in codes.intersection(labels).subtracting(found) {
                    disagreements.append(Disagreement(ecgID: id, code: code, missed: true, report: text))
                }
                for code in codes.intersection(found).subtracting(labels) {
                    disagreements.append(Disagreement(ecgID: id, code: code, missed: false, report: text))
                }
            }
        }
        // Text-only ceiling: every report of a text gets the statements that a strict majority of that
        // text's reports carry — per statement the most accurate constant for the text, i.e. the best
        // deterministic function of the text up to the choice at exact ties.
        let ceiling: [Set<String>] = groupSize.indices.map { group in
            Set(groupLabelCounts[group].filter { 2 * $0.value > groupSize[group] }.keys)
        }
        var ceilingPredicted: [String: Int] = [:]
        var ceilingTruePositives: [String: Int] = [:]
        var repeated: [String: Score] = [:]
        var repeatedReports = 0
        for report in perReport {
            let predictedByText = ceiling[report.group]
            for code in predictedByText {
                ceilingPredicted[code, default: 0] += 1
                if report.labels.contains(code) { ceilingTruePositives[code, default: 0] += 1 }
            }
            guard groupSize[report.group] > 1 else { continue }
            repeatedReports += 1
            for code in report.labels.union(report.found).union(predictedByText) {
                var score = repeated[code] ?? Score(code: code, support: 0, predicted: 0, truePositives: 0)
                let labelled = report.labels.contains(code)
                if labelled { score.support += 1 }
                if report.found.contains(code) {
                    score.predicted += 1
                    if labelled { score.truePositives += 1 }
                }
                if predictedByText.contains(code) {
                    score.ceilingPredicted += 1
                    if labelled { score.ceilingTruePositives += 1 }
                }
                repeated[code] = score
            }
        }
        let scores = statements.map {
            var score = Score(
                code: $0, support: support[$0, default: 0], predicted: predicted[$0, default: 0],
                truePositives: truePositives[$0, default: 0])
            score.ceilingPredicted = ceilingPredicted[$0, default: 0]
            score.ceilingTruePositives = ceilingTruePositives[$0, default: 0]
            return score
        }.sorted { ($0.support, $1.code) > ($1.support, $0.code) }
        var evaluation = ExtractionEvaluation(
            folds: folds.sorted(), reports: reports, minimumSupport: minimumSupport, scores: scores,
            disagreements: disagreements, extractionSeconds: seconds)
        evaluation.repeatedScores = repeated.values.sorted { ($0.support, $1.code) > ($1.support, $0.code) }
        evaluation.repeatedReports = repeatedReports
        evaluation.distinctTexts = groupSize.count
        return evaluation
    }

    /// The keys of a PTB-XL `scp_codes` dictionary literal (`{'NORM': 100.0, 'SR': 0.0}`).
    public static func parseCodes(_ literal: String) -> Set<String> {
        var result: Set<String> = []
        var current: String? = nil
        var expectingKey = true
        for character in literal {
            if var open = current {
                if character == "'" {
                    if expectingKey { result.insert(open) }
                    current = nil
                    expectingKey = false
                } else {
                    open.append(character)
                    current = open
                }
            } else if character == "'" {
                current = ""
            } else if character == "," || character == "{" {
                expectingKey = true
            }
        }
        return result
    }

    /// A plain-text table: one line per statement, then the micro average.
    public func table() -> String {
        var lines = [
            "                                           kmerl               | text-only ceiling       | repeated texts only",
            "code       support predicted   tp  precision  recall      f1 | precision recall     f1 | support  kmerl R  F1 | ceiling R  F1",
        ]
        let repeatedByCode = Dictionary(uniqueKeysWithValues: repeatedScores.map { ($0.code, $0) })
        for score in scores where score.support > 0 || score.predicted > 0 {
            let mark = score.support >= minimumSupport ? "" : "  (support < \(minimumSupport), not in micro average)"
            let repeated = repeatedByCode[score.code]
            lines.append(
                score.code.padding(toLength: 10, withPad: " ", startingAt: 0)
                    + String(
                        format: " %7d %9d %4d %10.3f %7.3f %7.3f | %9.3f %6.3f %6.3f | %7d %6.3f %5.3f | %6.3f %6.3f", score.support,
                        score.predicted, score.truePositives, score.precision, score.recall, score.f1, score.ceilingPrecision,
                        score.ceilingRecall, score.ceilingF1, repeated?.support ?? 0, repeated?.recall ?? 0, repeated?.f1 ?? 0,
                        repeated?.ceilingRecall ?? 0, repeated?.ceilingF1 ?? 0) + mark)
        }
        let micro = self.micro
        let foldList = folds.map(String.init).joined(separator: ",")
        lines.append(
            String(
                format: "micro average over %d statements with support >= %d: precision %.4f recall %.4f F1 %.4f (%d reports, folds %@)",
                frequentScores.count, minimumSupport, micro.precision, micro.recall, micro.f1, reports, foldList))
        let ceiling = ceilingMicro
        lines.append(
            String(
                format: "text-only ceiling, all %d reports (%d distinct texts; a text seen once counts as labelled perfectly): precision %.4f recall %.4f F1 %.4f",
                reports, distinctTexts, ceiling.precision, ceiling.recall, ceiling.f1))
        let repeatedKMERL = repeatedMicro(ceiling: false)
        let repeatedCeiling = repeatedMicro(ceiling: true)
        lines.append(
            String(
                format: "repeated texts only (%d reports whose text occurs at least twice): kmerl P %.4f R %.4f F1 %.4f; ceiling P %.4f R %.4f F1 %.4f",
                repeatedReports, repeatedKMERL.precision, repeatedKMERL.recall, repeatedKMERL.f1, repeatedCeiling.precision,
                repeatedCeiling.recall, repeatedCeiling.f1))
        return lines.joined(separator: "\n")
    }
}

extension Duration {
    fileprivate var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) * 1e-18
    }
}
