import ECGCore

/// A coding system a concept can carry a code in. Raw values are the prefixes used in exports
/// (`SNOMED:164909002`, `SCP:CLBBB`).
public enum CodeSystem: String, Sendable, Codable, Hashable, CaseIterable {
    case scp = "SCP"
    case snomed = "SNOMED"
    case aha = "AHA"
    case ptbxlClass = "PTBXL-CLASS"
    case ptbxlSubclass = "PTBXL-SUBCLASS"
}

/// One code of a concept in one coding system.
public struct ConceptCode: Sendable, Codable, Hashable, CustomStringConvertible {
    public var system: CodeSystem
    public var code: String

    public init(system: CodeSystem, code: String) {
        self.system = system
        self.code = code
    }

    /// `SYSTEM:CODE`.
    public var description: String { "\(system.rawValue):\(code)" }
}

/// The kind of finding a concept names.
public enum ConceptCategory: String, Sendable, Codable, Hashable, CaseIterable {
    case rhythm, conduction, form, stt = "st-t", hypertrophy, infarction, axis, technical, overall
}

/// A synonym or abbreviation of a concept in one language.
public struct Synonym: Sendable, Codable, Hashable {
    public var text: String
    /// ISO 639-1 language code (`en`, `de`).
    public var language: String
    /// `true` for abbreviations such as `LBBB`, `lah`.
    public var isAbbreviation: Bool

    public init(text: String, language: String, isAbbreviation: Bool = false) {
        self.text = text
        self.language = language
        self.isAbbreviation = isAbbreviation
    }
}

/// A measurement-based definition that the signal layer can check, e.g. QRS duration ≥ 120 ms.
public struct Criterion: Sendable, Codable, Hashable {
    /// The measurement's key as in `kmerl-batch measure --json` (`qrsDuration`, `heartRate`,
    /// `prInterval`, `qrsAxis`, `qtcBazett` …).
    public var measurement: String
    /// Lower bound (inclusive), if any.
    public var minimum: Double?
    /// Upper bound (inclusive), if any.
    public var maximum: Double?
    /// Unit of the bounds (`ms`, `bpm`, `deg`, `mV`).
    public var unit: String
    /// For a per-lead measurement (`rAmplitude`, `stJ60` …): the leads it is checked in (e.g. V1
    /// for the R wave that tells a right from a left bundle branch block). Empty: the concept's
    /// territory, or every lead.
    public var leads: [StandardLead]

    public init(measurement: String, minimum: Double? = nil, maximum: Double? = nil, unit: String, leads: [StandardLead] = []) {
        self.measurement = measurement
        self.minimum = minimum
        self.maximum = maximum
        self.unit = unit
        self.leads = leads
    }

    private enum CodingKeys: String, CodingKey { case measurement, minimum, maximum, unit, leads }

    /// Decodes a criterion; `leads` may be missing (criteria written before it existed).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        measurement = try container.decode(String.self, forKey: .measurement)
        minimum = try container.decodeIfPresent(Double.self, forKey: .minimum)
        maximum = try container.decodeIfPresent(Double.self, forKey: .maximum)
        unit = try container.decode(String.self, forKey: .unit)
        leads = try container.decodeIfPresent([StandardLead].self, forKey: .leads) ?? []
    }

    /// Whether `value` satisfies the criterion.
    public func isSatisfied(by value: Double) -> Bool {
        if let minimum, value < minimum { return false }
        if let maximum, value > maximum { return false }
        return true
    }
}

/// A cardiology concept of the ontology.
public struct Concept: Sendable, Codable, Hashable, Identifiable {
    /// Stable id, e.g. `CLBBB` or `NORM`.
    public var id: String
    /// Preferred English label.
    public var label: String
    public var category: ConceptCategory
    public var codes: [ConceptCode]
    public var synonyms: [Synonym]
    /// Ids of the parent concepts (PTB-XL superclasses and subclasses are concepts too).
    public var parents: [String]
    /// The leads of the concept's territory (inferior: II, III, aVF …), empty when none applies.
    public var territory: [StandardLead]
    /// Measurement criteria, empty when the concept is not defined by a measurement.
    public var criteria: [Criterion]
    /// A one-sentence definition, when the ontology gives one.
    public var definition: String?

    public init(
        id: String, label: String, category: ConceptCategory, codes: [ConceptCode] = [], synonyms: [Synonym] = [],
        parents: [String] = [], territory: [StandardLead] = [], criteria: [Criterion] = [], definition: String? = nil
    ) {
        self.id = id
        self.label = label
        self.category = category
        self.codes = codes
        self.synonyms = synonyms
        self.parents = parents
        self.territory = territory
        self.criteria = criteria
        self.definition = definition
    }

    /// Every code as `SYSTEM:CODE` joined by `;`, in a stable order (SNOMED, SCP, AHA, PTB-XL class, subclass).
    public var codesText: String {
        let order = CodeSystem.allCases.sorted { lhs, rhs in
            let rank: [CodeSystem: Int] = [.snomed: 0, .scp: 1, .aha: 2, .ptbxlClass: 3, .ptbxlSubclass: 4]
            return rank[lhs, default: 9] < rank[rhs, default: 9]
        }
        return order.flatMap { system in codes.filter { $0.system == system } }.map(\.description).joined(separator: ";")
    }
}

/// Whether a report asserts a finding.
public enum Assertion: String, Sendable, Codable, Hashable, CaseIterable {
    case present, negated, uncertain, historical
}

/// One occurrence of a concept in a report, with its attributes.
public struct Mention: Sendable, Codable, Hashable {
    public var conceptID: String
    /// Character offsets (in `Character`s of the report text) of the matched words.
    public var start: Int
    public var end: Int
    public var assertion: Assertion
    /// Leads named with the mention (`in v1-v3` → V1, V2, V3).
    public var leads: [StandardLead]
    /// Anatomical location words (`inferior`, `anterolateral` …), normalised to English.
    public var location: String?
    /// `mild`, `moderate`, `marked` …, normalised to English.
    public var severity: String?
    /// `acute`, `recent`, `old` …, normalised to English.
    public var acuity: String?

    public init(
        conceptID: String, start: Int, end: Int, assertion: Assertion, leads: [StandardLead] = [],
        location: String? = nil, severity: String? = nil, acuity: String? = nil
    ) {
        self.conceptID = conceptID
        self.start = start
        self.end = end
        self.assertion = assertion
        self.leads = leads
        self.location = location
        self.severity = severity
        self.acuity = acuity
    }
}
