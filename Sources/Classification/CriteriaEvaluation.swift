import ECGCore
import ECGSignal
import Foundation
import Knowledge
import Reports

/// The outcome of checking one ontology criterion against a record's measurements.
public struct CriterionOutcome: Sendable, Hashable {
    /// The criterion checked.
    public var criterion: Criterion
    /// The measured value, `nil` when it could not be measured.
    public var value: Double?
    /// Whether the value satisfies the criterion (`nil` when not measured).
    public var satisfied: Bool?
    /// Distance of the value from the nearest bound in units of the criterion's scale
    /// (≥ 0; inside or outside is told by `satisfied`).
    public var margin: Double
    /// The leads the measurement comes from.
    public var leads: [StandardLead]

    /// The shift this outcome adds to a finding's log-odds.
    ///
    /// A satisfied criterion is necessary but rarely sufficient (QRS ≥ 120 ms fits left and right
    /// bundle branch block alike), so it adds +1 to +2; a violated one speaks strongly against a
    /// finding the ontology defines by it (−2 to −4). Within the borderline margin the shift is halved.
    public func logOddsShift(borderlineMargin: Double) -> Double {
        guard let satisfied else { return 0 }
        let z = min(margin, 2)
        var shift = satisfied ? 1.0 + 0.5 * z : -(2.0 + z)
        if margin < borderlineMargin { shift /= 2 }
        return shift
    }
}

/// Checks the ontology's measurement criteria of a concept against a record's measurements.
///
/// Record-level keys (`heartRate`, `qrsDuration`, `prInterval`, `qrsAxis`, `qtcBazett` …) come from
/// `RecordMeasurements.value(forKey:)`. Lead-level keys (`stJ60`, `rAmplitude`, `sAmplitude`,
/// `tAmplitude`, `qAmplitude`, `pAmplitude`, `qrsArea`) are checked in each analysable lead of the
/// concept's territory (all analysable leads when it has none) and are satisfied when at least two
/// leads (one, when only one is available) satisfy them.
public enum CriteriaEvaluation {
    /// The lead-level measurement keys.
    public static let leadKeys: Set<String> = ["pAmplitude", "qAmplitude", "rAmplitude", "sAmplitude", "tAmplitude", "stJ60", "qrsArea"]

    /// Keys measured over a whole group of leads: the largest QRS voltage (peak to peak: the R
    /// wave minus the deeper of Q and S, in mV) among the limb leads or the precordial leads. Low
    /// QRS voltage means *every* lead of the group is low, so a "≤" criterion holds only when all
    /// six leads of the group were analysed in mV, while one high lead is enough to violate it.
    public static let groupKeys: [String: [StandardLead]] = [
        "limbQRSVoltage": [.i, .ii, .iii, .aVR, .aVL, .aVF], "precordialQRSVoltage": [.v1, .v2, .v3, .v4, .v5, .v6],
    ]

    /// The scale of one step of margin for a criterion's unit (20 ms, 10 bpm, 30°, 0.1 mV).
    public static func scale(of criterion: Criterion) -> Double {
        switch criterion.unit.lowercased() {
        case "ms": 20
        case "bpm", "/min": 10
        case "deg", "°", "degree", "degrees": 30
        case "mv": 0.1
        case "mv·ms", "mv*ms", "uvs", "µvs": 20
        default: max(abs(criterion.minimum ?? criterion.maximum ?? 1) * 0.1, 1e-6)
        }
    }

    /// The value of a lead-level key in one lead's measurements.
    public static func leadValue(_ key: String, in lead: LeadMeasurements) -> Double? {
        switch key {
        case "pAmplitude": lead.pAmplitude
        case "qAmplitude": lead.qAmplitude
        case "rAmplitude": lead.rAmplitude
        case "sAmplitude": lead.sAmplitude
        case "tAmplitude": lead.tAmplitude
        case "stJ60": lead.stJ60
        case "qrsArea": lead.qrsArea
        default: nil
        }
    }

    /// The standard leads that were analysed (status ok).
    public static func usableLeads(_ measurements: RecordMeasurements) -> [StandardLead] {
        measurements.leads.filter { $0.status == .ok }.compactMap(\.lead.standardLead).sorted()
    }

    /// Checks `criterion` against a single value.
    public static func outcome(_ criterion: Criterion, value: Double?, leads: [StandardLead]) -> CriterionOutcome {
        guard let value, value.isFinite else {
            return CriterionOutcome(criterion: criterion, value: nil, satisfied: nil, margin: 0, leads: leads)
        }
        let scale = scale(of: criterion)
        let satisfied = criterion.isSatisfied(by: value)
        var distances: [Double] = []
        if let minimum = criterion.minimum { distances.append(abs(value - minimum)) }
        if let maximum = criterion.maximum { distances.append(abs(value - maximum)) }
        let margin = (distances.min() ?? 0) / scale
        return CriterionOutcome(criterion: criterion, value: value, satisfied: satisfied, margin: margin, leads: leads)
    }

    /// Checks every criterion of `concept` against `measurements`.
    public static func evaluate(_ concept: Concept, measurements: RecordMeasurements) -> [CriterionOutcome] {
        evaluate(concept, measurements: measurements, usableLeads: usableLeads(measurements))
    }

    static func evaluate(_ concept: Concept, measurements: RecordMeasurements, usableLeads: [StandardLead]) -> [CriterionOutcome] {
        concept.criteria.map { criterion in
            if leadKeys.contains(criterion.measurement) {
                return leadOutcome(criterion, territory: criterion.leads.isEmpty ? concept.territory : criterion.leads, measurements: measurements)
            }
            if let group = groupKeys[criterion.measurement] {
                return groupOutcome(criterion, group: group, measurements: measurements)
            }
            return outcome(criterion, value: measurements.value(forKey: criterion.measurement), leads: usableLeads)
        }
    }

    /// Checks a lead-level criterion in the territory's analysable leads.
    static func leadOutcome(_ criterion: Criterion, territory: [StandardLead], measurements: RecordMeasurements) -> CriterionOutcome {
        let wanted = Set(territory.isEmpty ? StandardLead.allCases : territory)
        var perLead: [(StandardLead, Double)] = []
        for lead in measurements.leads where lead.status == .ok {
            guard let standard = lead.lead.standardLead, wanted.contains(standard),
                let value = leadValue(criterion.measurement, in: lead), value.isFinite
            else { continue }
            perLead.append((standard, value))
        }
        guard !perLead.isEmpty else { return outcome(criterion, value: nil, leads: []) }
        let needed = min(2, perLead.count)
        let satisfying = perLead.filter { criterion.isSatisfied(by: $0.1) }
        // The value reported is the second-most (or most) extreme satisfying lead when enough satisfy,
        // otherwise the lead closest to satisfying it.
        let chosen: (StandardLead, Double)
        let ranked = perLead.sorted { closeness(criterion, $0.1) < closeness(criterion, $1.1) }
        if satisfying.count >= needed {
            chosen = ranked[needed - 1]
        } else {
            chosen = ranked[0]
        }
        var result = outcome(criterion, value: chosen.1, leads: (satisfying.count >= needed ? satisfying : [chosen]).map(\.0).sorted())
        if satisfying.count < needed { result.satisfied = false }
        return result
    }

    /// Checks a group criterion (`groupKeys`) against the largest QRS voltage of the group's
    /// analysed leads; satisfied only when every lead of the group was measured.
    static func groupOutcome(_ criterion: Criterion, group: [StandardLead], measurements: RecordMeasurements) -> CriterionOutcome {
        var voltages: [(StandardLead, Double)] = []
        for lead in measurements.leads where lead.status == .ok {
            guard let standard = lead.lead.standardLead, group.contains(standard), let r = lead.rAmplitude else { continue }
            let deepest = min(lead.qAmplitude ?? 0, lead.sAmplitude ?? 0, 0)
            voltages.append((standard, r - deepest))
        }
        guard let largest = voltages.max(by: { $0.1 < $1.1 }) else { return outcome(criterion, value: nil, leads: []) }
        var result = outcome(criterion, value: largest.1, leads: [largest.0])
        if result.satisfied == true {
            // Low in the leads seen, but a lead not seen may be high: not decided.
            guard Set(voltages.map(\.0)).count == group.count else { return outcome(criterion, value: nil, leads: []) }
            result.leads = group
        }
        return result
    }

    /// How far `value` is from satisfying `criterion` (negative when inside: the more negative, the deeper).
    static func closeness(_ criterion: Criterion, _ value: Double) -> Double {
        var worst = -Double.infinity
        if let minimum = criterion.minimum { worst = max(worst, minimum - value) }
        if let maximum = criterion.maximum { worst = max(worst, value - maximum) }
        return worst.isFinite ? worst : 0
    }

    /// Human-readable names of measurement keys, for evidence text.
    public static func name(of key: String) -> String {
        switch key {
        case "heartRate": "heart rate"
        case "rrMean": "mean RR"
        case "rrSD": "RR standard deviation"
        case "rrIrregularity": "RR irregularity"
        case "prInterval": "PR interval"
        case "qrsDuration": "QRS duration"
        case "qtInterval": "QT interval"
        case "qtcBazett": "QTc (Bazett)"
        case "qtcFridericia": "QTc (Fridericia)"
        case "pAxis": "P axis"
        case "qrsAxis": "QRS axis"
        case "tAxis": "T axis"
        case "pAmplitude": "P amplitude"
        case "qAmplitude": "Q amplitude"
        case "rAmplitude": "R amplitude"
        case "sAmplitude": "S amplitude"
        case "tAmplitude": "T amplitude"
        case "stJ60": "ST level at J+60 ms"
        case "qrsArea": "QRS area"
        case "limbQRSVoltage": "largest QRS voltage in the limb leads"
        case "precordialQRSVoltage": "largest QRS voltage in the precordial leads"
        default: key
        }
    }

    /// Formats a value with the precision its unit deserves.
    public static func format(_ value: Double, unit: String) -> String {
        switch unit.lowercased() {
        case "mv": NumberText.fixed(value, 2)
        case "ms", "bpm", "deg", "/min": NumberText.fixed(value, 0)
        default: abs(value) < 10 ? NumberText.fixed(value, 2) : NumberText.fixed(value, 0)
        }
    }

    /// Evidence text and polarity for one outcome, e.g. "QRS duration 142 ms ≥ 120 ms".
    public static func evidence(for outcome: CriterionOutcome) -> Evidence {
        let c = outcome.criterion
        // A lead-level criterion tied to named leads says where it was looked for ("R amplitude in V1").
        let name = name(of: c.measurement) + (c.leads.isEmpty ? "" : " in " + c.leads.map(\.name).joined(separator: ", "))
        let unit = c.unit == "deg" ? "°" : " " + c.unit
        let bound: String
        switch (c.minimum, c.maximum) {
        case (let lo?, let hi?): bound = "\(format(lo, unit: c.unit))…\(format(hi, unit: c.unit))\(unit)"
        case (let lo?, nil): bound = "≥ \(format(lo, unit: c.unit))\(unit)"
        case (nil, let hi?): bound = "≤ \(format(hi, unit: c.unit))\(unit)"
        case (nil, nil): bound = "any value"
        }
        guard let value = outcome.value, let satisfied = outcome.satisfied else {
            return Evidence(kind: "measurement", text: "\(name) not measurable (criterion \(bound))", leads: [], supports: false)
        }
        let shown = "\(name) \(format(value, unit: c.unit))\(unit)"
        let text: String
        switch (c.minimum, c.maximum) {
        case (_?, _?): text = satisfied ? "\(shown) within \(bound)" : "\(shown) outside \(bound)"
        case (let lo?, nil): text = satisfied ? "\(shown) ≥ \(format(lo, unit: c.unit))\(unit)" : "\(shown) < \(format(lo, unit: c.unit))\(unit)"
        case (nil, let hi?): text = satisfied ? "\(shown) ≤ \(format(hi, unit: c.unit))\(unit)" : "\(shown) > \(format(hi, unit: c.unit))\(unit)"
        case (nil, nil): text = shown
        }
        return Evidence(kind: "measurement", text: text, leads: outcome.leads, supports: satisfied)
    }
}
