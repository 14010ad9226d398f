import ECGCore
import ECGSignal
import Foundation
import Knowledge

/// A clinical qualifier in the AHA/ACC/HRS 2007 style, chosen from probability bands.
public enum Qualifier: String, Sendable, Codable, Hashable {
    case consider, possible, probable, borderline
    /// High enough to state without a qualifier.
    case definite = ""
}

/// The overall statement for one record.
public enum OverallStatement: String, Sendable, Codable, Hashable {
    case normal = "normal ECG"
    case otherwiseNormal = "otherwise normal ECG"
    case borderline = "borderline ECG"
    case abnormal = "abnormal ECG"
    case uninterpretable = "uninterpretable ECG"
}

/// One piece of evidence behind a finding: a measurement against a criterion, or the encoder.
public struct Evidence: Sendable, Codable, Hashable {
    /// `measurement` or `encoder`.
    public var kind: String
    /// Human-readable text, e.g. `QRS duration 142 ms ≥ 120 ms`.
    public var text: String
    /// The leads this evidence comes from.
    public var leads: [StandardLead]
    /// Whether it supports (true) or speaks against (false) the finding.
    public var supports: Bool

    public init(kind: String, text: String, leads: [StandardLead] = [], supports: Bool) {
        self.kind = kind
        self.text = text
        self.leads = leads
        self.supports = supports
    }
}

/// One value per standard lead in 12 fixed slots (`StandardLead.rawValue` order), `nil` where the
/// lead has none. Used for per-lead confidence: 168 findings × 12 leads per record are read and
/// written without hashing.
public struct LeadValues: Sendable, Hashable, Codable {
    private var slots: [Double]

    /// No value for any lead.
    public init() {
        slots = Array(repeating: .nan, count: StandardLead.allCases.count)
    }

    /// The values of 12 slots indexed by `StandardLead.rawValue` (NaN: no value).
    public init(slots values: some Collection<Double>) {
        self.init()
        for (k, v) in values.prefix(slots.count).enumerated() { slots[k] = v }
    }

    /// The values of `dictionary`.
    public init(_ dictionary: [StandardLead: Double]) {
        self.init()
        for (lead, value) in dictionary { self[lead] = value }
    }

    /// The value of `lead`, `nil` when it has none (setting `nil` or NaN removes it).
    public subscript(lead: StandardLead) -> Double? {
        get {
            let v = slots[lead.rawValue]
            return v.isNaN ? nil : v
        }
        set { slots[lead.rawValue] = newValue ?? .nan }
    }

    /// The leads with a value, in display order.
    public var leads: [StandardLead] { StandardLead.allCases.filter { !slots[$0.rawValue].isNaN } }

    /// How many leads have a value.
    public var count: Int { slots.reduce(0) { $0 + ($1.isNaN ? 0 : 1) } }

    /// The values as a dictionary.
    public var dictionary: [StandardLead: Double] {
        var out: [StandardLead: Double] = [:]
        for lead in StandardLead.allCases { if let v = self[lead] { out[lead] = v } }
        return out
    }
}

/// One concept scored for one record.
public struct Finding: Sendable, Codable, Hashable {
    public var conceptID: String
    public var label: String
    /// `SYSTEM:CODE;…` as in `kmerl-kb export mentions`.
    public var codes: String
    /// Calibrated probability in [0, 1].
    public var probability: Double
    public var qualifier: Qualifier?
    /// Per present lead: how strongly that lead alone supports the finding, in [0, 1].
    /// Absent leads have no value.
    public var leadConfidence: LeadValues
    public var evidence: [Evidence]
    /// `true` for a zero-shot score (the concept has no calibration of its own) that no satisfied
    /// measurement criterion confirms: reported at most as "consider", never deciding the overall statement.
    public var isZeroShot: Bool = false
    /// Set when a clinical consistency rule lowered this finding's qualifier because a better
    /// supported finding excludes it (e.g. right bundle branch block beside left bundle branch block).
    public var demotion: Demotion? = nil

    /// Per present lead: how strongly that lead alone supports the finding (a dictionary view of
    /// `leadConfidence`). Absent leads have no entry.
    public var perLead: [StandardLead: Double] {
        get { leadConfidence.dictionary }
        set { leadConfidence = LeadValues(newValue) }
    }

    public init(
        conceptID: String, label: String, codes: String, probability: Double, qualifier: Qualifier?,
        perLead: [StandardLead: Double] = [:], evidence: [Evidence] = []
    ) {
        self.init(
            conceptID: conceptID, label: label, codes: codes, probability: probability, qualifier: qualifier,
            leadConfidence: LeadValues(perLead), evidence: evidence)
    }

    /// A finding with its per-lead confidence in fixed slots.
    public init(
        conceptID: String, label: String, codes: String, probability: Double, qualifier: Qualifier?,
        leadConfidence: LeadValues, evidence: [Evidence] = []
    ) {
        self.conceptID = conceptID
        self.label = label
        self.codes = codes
        self.probability = probability
        self.qualifier = qualifier
        self.leadConfidence = leadConfidence
        self.evidence = evidence
    }

    enum CodingKeys: String, CodingKey {
        case conceptID, label, codes, probability, qualifier, perLead, evidence, isZeroShot, demotion
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            conceptID: try c.decode(String.self, forKey: .conceptID), label: try c.decode(String.self, forKey: .label),
            codes: try c.decode(String.self, forKey: .codes), probability: try c.decode(Double.self, forKey: .probability),
            qualifier: try c.decodeIfPresent(Qualifier.self, forKey: .qualifier),
            perLead: try c.decodeIfPresent([StandardLead: Double].self, forKey: .perLead) ?? [:],
            evidence: try c.decodeIfPresent([Evidence].self, forKey: .evidence) ?? [])
        isZeroShot = try c.decodeIfPresent(Bool.self, forKey: .isZeroShot) ?? false
        demotion = try c.decodeIfPresent(Demotion.self, forKey: .demotion)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(conceptID, forKey: .conceptID)
        try c.encode(label, forKey: .label)
        try c.encode(codes, forKey: .codes)
        try c.encode(probability, forKey: .probability)
        try c.encodeIfPresent(qualifier, forKey: .qualifier)
        try c.encode(perLead, forKey: .perLead)
        try c.encode(evidence, forKey: .evidence)
        try c.encode(isZeroShot, forKey: .isZeroShot)
        try c.encodeIfPresent(demotion, forKey: .demotion)
    }
}

/// Why a finding's qualifier was lowered by a clinical consistency rule.
public struct Demotion: Sendable, Codable, Hashable {
    /// The finding that excludes this one (its concept id).
    public var by: String
    /// That finding's label.
    public var byLabel: String
    /// The qualifier the finding had before.
    public var from: Qualifier
    /// The rule's reason, e.g. "left and right bundle branch block exclude each other".
    public var reason: String
    /// `true` when the other finding states this one more specifically (sinus bradycardia and
    /// sinus rhythm) rather than contradicting it.
    public var isSubsumed: Bool = false
    /// `true` when the two findings are equally supported (same measurements, close
    /// probabilities), so that neither is stated.
    public var isUndecided: Bool = false

    /// The sentence shown on the record page after the demoted finding.
    public var explanation: String {
        if isSubsumed { return reason }
        if isUndecided { return "\(reason); \(byLabel) is equally supported, so neither is stated" }
        return "\(reason); \(byLabel) is better supported"
    }

    public init(by: String, byLabel: String = "", from: Qualifier, reason: String) {
        self.by = by
        self.byLabel = byLabel.isEmpty ? by : byLabel
        self.from = from
        self.reason = reason
    }
}

/// Everything classification knows about one record.
public struct RecordResult: Sendable {
    /// The record's name (WFDB record name, file stem otherwise).
    public var recordID: String
    /// The file the record was read from.
    public var source: String
    public var format: SourceFormat
    public var samplingRate: Double
    public var duration: Double
    /// Standard leads present after `--leads` filtering, display order.
    public var leadsPresent: [StandardLead]
    public var measurements: RecordMeasurements
    /// All findings scored, most probable first.
    public var findings: [Finding]
    public var overall: OverallStatement
    /// Overall signal quality in [0, 1].
    public var quality: Double
    public var warnings: [String]
    /// The signals for plotting, in physical units (mV where known).
    public var record: ECGRecord

    public init(
        recordID: String, source: String, format: SourceFormat, samplingRate: Double, duration: Double,
        leadsPresent: [StandardLead], measurements: RecordMeasurements, findings: [Finding], overall: OverallStatement,
        quality: Double, warnings: [String], record: ECGRecord
    ) {
        self.recordID = recordID
        self.source = source
        self.format = format
        self.samplingRate = samplingRate
        self.duration = duration
        self.leadsPresent = leadsPresent
        self.measurements = measurements
        self.findings = findings
        self.overall = overall
        self.quality = quality
        self.warnings = warnings
        self.record = record
    }
}

/// A record that could not be processed, with the reason.
public struct RecordFailure: Sendable, Codable, Hashable {
    public var source: String
    public var reason: String

    public init(source: String, reason: String) {
        self.source = source
        self.reason = reason
    }
}

/// Why a standard lead contributes no per-lead confidence to a record's findings.
public enum LeadAvailability: String, Sendable, Codable, Hashable {
    /// The lead was not in the file, or was removed by `--leads`.
    case absent
    /// The lead is present but could not be analysed (flat, clipped, too noisy …).
    case unusable
    /// The lead is present and was analysed.
    case usable
}

extension RecordResult {
    /// The availability of every standard lead, in display order, with the signal layer's reasons
    /// for unusable leads.
    public var leadAvailability: [(lead: StandardLead, availability: LeadAvailability, reasons: [String])] {
        StandardLead.allCases.map { lead in
            guard leadsPresent.contains(lead) else { return (lead, .absent, []) }
            if let m = measurements.leads.first(where: { $0.lead == .standard(lead) }), m.status == .notAnalysable {
                return (lead, .unusable, m.reasons)
            }
            return (lead, .usable, [])
        }
    }

    /// The findings worth reporting (those with a qualifier), most probable first.
    public var reportedFindings: [Finding] { findings.filter { $0.qualifier != nil } }
}
