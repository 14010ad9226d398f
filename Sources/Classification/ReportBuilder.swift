import ECGCore
import ECGSignal
import Foundation
import Knowledge
import Reports

/// Turns classification results into the report set's rows and Mustache contexts.
///
/// `findings.csv` header is fixed by the issue; `summary.csv` has one row per input (processed or
/// not). Text cells are neutralised against formula injection by `CSV`; numbers are written as
/// numbers (a negative axis such as `-45` stays a number).
enum ReportBuilder {
    /// The header of `findings.csv`, exactly.
    static let findingsHeader = ["record_id", "concept_id", "label", "codes", "probability", "qualifier", "leads_present"]
        + StandardLead.allCases.map { "lead_\($0.name)" }

    /// The header of `summary.csv`.
    static let summaryHeader = [
        "record_id", "source", "format", "status", "error", "sampling_rate_hz", "duration_s", "leads_present", "leads_unusable",
        "quality", "overall", "heart_rate_bpm", "rr_mean_ms", "pr_ms", "qrs_ms", "qt_ms", "qtc_bazett_ms", "qtc_fridericia_ms",
        "p_axis_deg", "qrs_axis_deg", "t_axis_deg", "top_findings", "warnings",
    ]

    /// The measurement rows of the record page and summary.csv: key, name, unit, decimals.
    static let measurementRows: [(key: String, name: String, unit: String)] = [
        ("heartRate", "Heart rate", "bpm"), ("rrMean", "RR mean", "ms"), ("rrSD", "RR standard deviation", "ms"),
        ("prInterval", "PR interval", "ms"), ("qrsDuration", "QRS duration", "ms"), ("qtInterval", "QT interval", "ms"),
        ("qtcBazett", "QTc (Bazett)", "ms"), ("qtcFridericia", "QTc (Fridericia)", "ms"), ("pAxis", "P axis", "°"),
        ("qrsAxis", "QRS axis", "°"), ("tAxis", "T axis", "°"), ("rrIrregularity", "RR irregularity", ""),
    ]

    static func qualifierText(_ q: Qualifier?) -> String {
        guard let q else { return "" }
        return q == .definite ? "definite" : q.rawValue
    }

    static func phrase(_ f: Finding) -> String {
        (f.qualifier ?? .consider).phrase(f.label)
    }

    static func leadsText(_ leads: [StandardLead]) -> String { leads.map(\.name).joined(separator: ";") }

    static func p(_ value: Double) -> String { NumberText.fixed(value, 2) }

    static func number(_ value: Double?, decimals: Int = 0) -> String {
        guard let value, value.isFinite else { return "—" }
        return NumberText.fixed(value, decimals)
    }

    static func overallClass(_ o: OverallStatement?) -> String {
        switch o {
        case .normal: "s-normal"
        case .otherwiseNormal: "s-otherwise"
        case .borderline: "s-borderline"
        case .abnormal: "s-abnormal"
        case .uninterpretable, nil: "s-uninterpretable"
        }
    }

    static func overallRank(_ o: OverallStatement?) -> Int {
        switch o {
        case .normal: 0
        case .otherwiseNormal: 1
        case .borderline: 2
        case .abnormal: 3
        case .uninterpretable: 4
        case nil: 5
        }
    }

    /// The findings worth naming for a record: reported ones that decide the statement first.
    static func top(
        _ result: RecordResult, count: Int, deciding: Set<String>, aggregates: Set<String> = [], order: [String: Int] = [:],
        rule: OverallStatementRule = OverallStatementRule()
    ) -> [Finding] {
        // A finding demoted by a consistency rule is never a top finding: a better-supported one
        // excludes it. Unconfirmed zero-shot scores never either: the record page lists them apart
        // as "not part of the interpretation" (their probability is not comparable with the
        // calibrated ones), so the headline does not state them.
        let reported = result.findings.indices.filter {
            result.findings[$0].qualifier != nil && result.findings[$0].demotion == nil && !result.findings[$0].isZeroShot
        }
        // Deciding findings first, and among them those that make the record abnormal or borderline
        // (specific findings before PTB-XL class aggregates, "consider" after the stronger
        // qualifiers) before the minor ones and the normal statements, so the headline shows why
        // the overall statement is what it is.
        func rank(_ f: Finding) -> Int {
            if rule.normalConcepts.contains(f.conceptID) { return 5 }
            if rule.minorConcepts.contains(f.conceptID) { return 4 }
            return (f.qualifier == .consider ? 2 : 0) + (aggregates.contains(f.conceptID) ? 1 : 0)
        }
        let primarySet = deciding.union(aggregates)
        let primary = reported.filter { primarySet.contains(result.findings[$0].conceptID) }
            .enumerated().sorted { a, b in
                let (ra, rb) = (rank(result.findings[a.element]), rank(result.findings[b.element]))
                return ra != rb ? ra < rb : a.offset < b.offset
            }.map(\.element)
        // Then the other findings.
        let rest = reported.filter { !primarySet.contains(result.findings[$0].conceptID) }
        // The chosen ones are shown in statement order (`order`: rhythm first, as on an ECG
        // machine's printout), then most probable first (the findings' own order).
        return (primary + rest).prefix(count).sorted { a, b in
            let (oa, ob) = (order[result.findings[a].conceptID] ?? Int.max, order[result.findings[b].conceptID] ?? Int.max)
            return oa != ob ? oa < ob : a < b
        }.map { result.findings[$0] }
    }

    /// The `findings.csv` rows of one record.
    static func findingRows(_ result: RecordResult) -> [[CSVCell]] {
        let present = leadsText(result.leadsPresent)
        return result.findings.map { f in
            var row: [CSVCell] = [
                .text(result.recordID), .text(f.conceptID), .text(f.label), .text(f.codes), .number(f.probability, decimals: 4),
                .text(qualifierText(f.qualifier)), .text(present),
            ]
            for lead in StandardLead.allCases { row.append(.number(f.leadConfidence[lead], decimals: 4)) }
            return row
        }
    }

    /// The formatted `concept_id,label,codes` cells of each concept, computed once per batch so that
    /// the 168 rows of a record repeat no text formatting.
    static func conceptCells(_ concepts: [Concept], codes: [String]) -> [String: [UInt8]] {
        var out: [String: [UInt8]] = [:]
        for (k, concept) in concepts.enumerated() {
            var bytes: [UInt8] = []
            CSV.appendLine([.text(concept.id), .text(concept.label), .text(codes[k])], to: &bytes)
            bytes.removeLast()  // the line break
            out[concept.id] = bytes
        }
        return out
    }

    /// Appends the `findings.csv` lines of one record (the same bytes as `findingRows` through
    /// `CSV.appendLine`), using the concepts' preformatted cells.
    static func appendFindingLines(_ result: RecordResult, conceptCells: [String: [UInt8]], to bytes: inout [UInt8]) {
        var id: [UInt8] = []
        CSV.append(.text(result.recordID), to: &id)
        var present: [UInt8] = []
        CSV.append(.text(leadsText(result.leadsPresent)), to: &present)
        let comma = UInt8(ascii: ",")
        for f in result.findings {
            bytes.append(contentsOf: id)
            bytes.append(comma)
            if let cells = conceptCells[f.conceptID] {
                bytes.append(contentsOf: cells)
            } else {
                CSV.append(.text(f.conceptID), to: &bytes)
                bytes.append(comma)
                CSV.append(.text(f.label), to: &bytes)
                bytes.append(comma)
                CSV.append(.text(f.codes), to: &bytes)
            }
            bytes.append(comma)
            CSV.append(.number(f.probability, decimals: 4), to: &bytes)
            bytes.append(comma)
            CSV.append(.text(qualifierText(f.qualifier)), to: &bytes)
            bytes.append(comma)
            bytes.append(contentsOf: present)
            for lead in StandardLead.allCases {
                bytes.append(comma)
                if let v = f.leadConfidence[lead], v.isFinite { NumberText.append(v, decimals: 4, trimZeros: true, to: &bytes) }
            }
            bytes.append(0x0A)
        }
    }

    /// The `summary.csv` row of one processed record.
    static func summaryRow(_ result: RecordResult, top: [Finding]) -> [CSVCell] {
        let m = result.measurements
        let unusable = result.leadAvailability.filter { $0.availability == .unusable }.map(\.lead)
        var row: [CSVCell] = [
            .text(result.recordID), .text(result.source), .text(result.format.rawValue), "ok", .empty,
            .number(result.samplingRate, decimals: 3), .number(result.duration, decimals: 3), .text(leadsText(result.leadsPresent)),
            .text(leadsText(unusable)), .number(result.quality, decimals: 3), .text(result.overall.rawValue),
        ]
        for key in ["heartRate", "rrMean", "prInterval", "qrsDuration", "qtInterval", "qtcBazett", "qtcFridericia", "pAxis", "qrsAxis", "tAxis"] {
            row.append(.number(m.value(forKey: key), decimals: 1))
        }
        row.append(.text(top.map { "\(phrase($0)) (\(p($0.probability)))" }.joined(separator: "; ")))
        row.append(.text(result.warnings.joined(separator: "; ")))
        return row
    }

    /// The `summary.csv` row of an input that could not be processed.
    static func failureRow(id: String, source: String, reason: String) -> [CSVCell] {
        var row: [CSVCell] = [.text(id), .text(source), .empty, "failed", .text(reason)]
        row += Array(repeating: CSVCell.empty, count: summaryHeader.count - row.count)
        return row
    }

    /// The Mustache context of a record page.
    static func recordContext(_ result: RecordResult, top: [Finding], modelVersion: String) -> [String: Any] {
        let availability = result.leadAvailability
        var strips: [PlotStrip] = []
        let byLead = Dictionary(result.measurements.leads.compactMap { m in m.lead.standardLead.map { ($0, m) } }, uniquingKeysWith: { a, _ in a })
        var mvKnown = true
        for lead in result.leadsPresent {
            guard let signal = result.record.signal(for: lead) else { continue }
            let state = availability[lead.rawValue]
            let caption: String
            if state.availability == .unusable {
                caption = "unusable" + (state.reasons.isEmpty ? "" : ": " + state.reasons.joined(separator: ", "))
            } else {
                caption = top.map { f in "\(f.conceptID) " + (f.leadConfidence[lead].map(p) ?? "–") }.joined(separator: " · ")
            }
            if signal.millivoltsPerUnit == nil { mvKnown = false }
            strips.append(
                PlotStrip(
                    lead: lead.name + (signal.isDerived ? " (derived)" : ""), samples: signal.samples,
                    millivoltsPerUnit: signal.millivoltsPerUnit, caption: caption, isUsable: state.availability != .unusable))
        }
        let svg = ECGPlot().svg(strips: strips, samplingRate: result.samplingRate)
        let absent = availability.filter { $0.availability == .absent }.map(\.lead.name)
        let unusable: [[String: Any]] = availability.filter { $0.availability == .unusable }.map {
            ["lead": $0.lead.name, "reasons": $0.reasons.isEmpty ? "not analysable" : $0.reasons.joined(separator: "; ")]
        }
        let measurements: [[String: Any]] = measurementRows.map { row in
            let value = result.measurements.value(forKey: row.key)
            return [
                "name": TemplateText(row.name), "value": TemplateText(number(value, decimals: row.key == "rrIrregularity" ? 3 : 0)),
                "unit": TemplateText(row.unit),
            ]
        }
        // One row per present lead; the absent ones share a single row (a 2-lead record would
        // otherwise show ten rows of dashes).
        let leadRows: [[String: Any]] = availability.filter { $0.availability != .absent }.map { entry in
            let m = byLead[entry.lead]
            let status: String
            switch entry.availability {
            case .absent: status = "absent"
            case .unusable: status = "unusable"
            case .usable: status = m == nil ? "present" : "ok"
            }
            let confidences: [TemplateText] = top.map { f in TemplateText(f.leadConfidence[entry.lead].map(p) ?? "—") }
            return [
                "lead": TemplateText(entry.lead.name), "status": TemplateText(status),
                "quality": TemplateText(m.map { NumberText.fixed($0.quality, 2) } ?? "—"),
                "r": TemplateText(number(m?.rAmplitude, decimals: 2)), "s": TemplateText(number(m?.sAmplitude, decimals: 2)),
                "st": TemplateText(number(m?.stJ60, decimals: 2)), "t": TemplateText(number(m?.tAmplitude, decimals: 2)),
                "confidences": confidences,
            ]
        }
        let reported = result.reportedFindings
        // The stated interpretation first, then what a consistency rule took out of it, each by
        // probability (the order of `reported`).
        let interpreted = reported.filter { !$0.isZeroShot }
        let findings: [[String: Any]] = (interpreted.filter { $0.demotion == nil } + interpreted.filter { $0.demotion != nil }).map { findingContext($0) }
        // Zero-shot scores are listed compactly (label and probability); their codes are in findings.csv.
        let zeroShot: [[String: Any]] = reported.filter(\.isZeroShot).map {
            ["label": TemplateText($0.label), "conceptID": TemplateText($0.conceptID), "probability": TemplateText(p($0.probability))]
        }
        let statements: [[String: Any]] = top.map { ["phrase": phrase($0), "probability": p($0.probability)] }
        // Findings a consistency rule took out of the interpretation; a "consider" that was
        // excluded is not worth a line of its own (it stays in the findings table).
        let demoted: [[String: Any]] = reported.compactMap { f in
            guard let d = f.demotion, d.from != .consider else { return nil }
            return ["phrase": d.from.phrase(f.label), "probability": p(f.probability), "conceptID": f.conceptID, "explanation": d.explanation]
        }
        return [
            "id": result.recordID, "source": result.source, "format": result.format.rawValue,
            "samplingRate": number(result.samplingRate), "duration": NumberText.fixed(result.duration, 1),
            "leads": result.leadsPresent.map(\.name).joined(separator: " "), "quality": NumberText.fixed(result.quality, 2),
            "overall": result.overall.rawValue, "overallClass": overallClass(result.overall), "statements": statements,
            "warnings": result.warnings, "svg": svg,
            "gainText": mvKnown ? "10 mm/mV" : "amplitudes in the file's normalised units (4 mm per unit, not mV)",
            "topLabels": top.isEmpty ? "none reported" : top.map { "\($0.conceptID) = \($0.label)" }.joined(separator: ", "),
            "hasAbsent": !absent.isEmpty, "absentLeads": absent.joined(separator: " "), "absentColumns": 5 + top.count, "unusable": unusable,
            "measurements": measurements, "leadRows": leadRows,
            "topHeaders": top.map { ["id": TemplateText($0.conceptID), "label": TemplateText($0.label)] }, "findings": findings, "zeroShot": zeroShot, "zeroShotCount": zeroShot.count, "hasZeroShot": !zeroShot.isEmpty,
            "demoted": demoted, "hasDemoted": !demoted.isEmpty,
            "scoredCount": result.findings.count, "modelVersion": modelVersion,
        ]
    }

    static func findingContext(_ f: Finding) -> [String: Any] {
        let codes = f.codes.split(separator: ";").map(String.init)
        let snomed = codes.filter { $0.hasPrefix("SNOMED:") }.map { String($0.dropFirst(7)) }
        let scp = codes.filter { $0.hasPrefix("SCP:") }.map { String($0.dropFirst(4)) }
        let other = codes.filter { !$0.hasPrefix("SNOMED:") && !$0.hasPrefix("SCP:") }
        let evidence: [[String: Any]] = f.evidence.map { e in
            [
                // No empty "[]" after evidence without leads.
                "text": TemplateText(e.text), "leads": e.leads.isEmpty ? false : e.leads.map(\.name).joined(separator: " "),
                "cls": TemplateText(e.supports ? "ev-for" : "ev-against"), "sign": TemplateText(e.supports ? "+" : "−"),
            ]
        }
        var context: [String: Any] = [
            "phrase": TemplateText(phrase(f)), "conceptID": TemplateText(f.conceptID), "label": TemplateText(f.label),
            "probability": TemplateText(p(f.probability)), "snomed": snomed.map(TemplateText.init), "scp": scp.map(TemplateText.init),
            "other": other.map(TemplateText.init), "evidence": evidence,
        ]
        if let d = f.demotion {
            context["demotion"] = [
                "from": qualifierText(d.from), "by": d.byLabel, "subsumed": d.isSubsumed, "undecided": d.isUndecided,
            ]
        }
        return context
    }
}

/// What the index keeps of each record: a few strings, not the signals.
struct IndexRow: Sendable {
    var id: String
    var source: String
    var format: String
    var page: String?
    var leads: [StandardLead]
    var quality: Double?
    var overall: OverallStatement?
    var heartRate: Double?
    var qrs: Double?
    var top: [(phrase: String, probability: Double)]
    var failure: String?

    func context() -> [String: Any] {
        [
            "id": id, "href": page ?? "", "format": format,
            "leads": leads.isEmpty ? "—" : leads.count == 12 ? "all 12" : leads.map(\.name).joined(separator: " "),
            "leadCount": leads.count, "quality": quality.map { NumberText.fixed($0, 2) } ?? "—",
            "overall": overall?.rawValue ?? "failed", "overallClass": ReportBuilder.overallClass(overall),
            "overallRank": ReportBuilder.overallRank(overall),
            "heartRate": ReportBuilder.number(heartRate), "heartRateSort": heartRate.map { NumberText.fixed($0, 1) } ?? "-1",
            "qrs": ReportBuilder.number(qrs), "qrsSort": qrs.map { NumberText.fixed($0, 1) } ?? "-1",
            "top": top.map { ["phrase": $0.phrase, "probability": ReportBuilder.p($0.probability)] },
        ]
    }
}
