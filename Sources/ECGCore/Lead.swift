/// One of the twelve standard ECG leads, in the conventional display order.
public enum StandardLead: Int, CaseIterable, Sendable, Hashable, Comparable, Codable {
    case i, ii, iii, aVR, aVL, aVF, v1, v2, v3, v4, v5, v6

    /// The canonical written name: `I`, `II`, `III`, `aVR`, `aVL`, `aVF`, `V1` … `V6`.
    public var name: String {
        switch self {
        case .i: "I"
        case .ii: "II"
        case .iii: "III"
        case .aVR: "aVR"
        case .aVL: "aVL"
        case .aVF: "aVF"
        case .v1: "V1"
        case .v2: "V2"
        case .v3: "V3"
        case .v4: "V4"
        case .v5: "V5"
        case .v6: "V6"
        }
    }

    /// Whether this is one of the six frontal-plane (limb) leads.
    public var isLimb: Bool { rawValue <= StandardLead.aVF.rawValue }

    /// The six limb leads, in display order.
    public static let limbLeads: [StandardLead] = [.i, .ii, .iii, .aVR, .aVL, .aVF]

    /// The six precordial leads, in display order.
    public static let precordialLeads: [StandardLead] = [.v1, .v2, .v3, .v4, .v5, .v6]

    public static func < (lhs: StandardLead, rhs: StandardLead) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// An ECG lead as found in a file: one of the twelve standard leads, or another lead kept by name.
///
/// Names are matched case-insensitively against the aliases seen in real files
/// (`AVR`, `avr`, `MLII`, `D1`, `lead II` …). A name that matches none is kept as `.other`.
public enum Lead: Hashable, Sendable, Comparable, CustomStringConvertible {
    case standard(StandardLead)
    case other(String)

    /// Resolves a written lead name, e.g. `"avr"` → `.standard(.aVR)`, `"MLII"` → `.standard(.ii)`.
    public init(parsing written: String) {
        if let lead = Lead.standard(forAlias: written) {
            self = .standard(lead)
        } else {
            self = .other(written.trimmingWhitespace())
        }
    }

    /// The canonical name (`aVR`) for a standard lead, the written name otherwise.
    public var name: String {
        switch self {
        case .standard(let lead): lead.name
        case .other(let name): name
        }
    }

    /// The standard lead, if this is one.
    public var standardLead: StandardLead? {
        if case .standard(let lead) = self { return lead }
        return nil
    }

    public var description: String { name }

    /// Standard leads in display order first, then other leads by name.
    public static func < (lhs: Lead, rhs: Lead) -> Bool {
        switch (lhs, rhs) {
        case (.standard(let a), .standard(let b)): a < b
        case (.standard, .other): true
        case (.other, .standard): false
        case (.other(let a), .other(let b)): a < b
        }
    }

    /// The standard lead a written alias names, or `nil`.
    public static func standard(forAlias written: String) -> StandardLead? {
        var key = written.trimmingWhitespace().lowercased()
        for prefix in ["lead ", "lead_", "lead-", "lead"] where key.hasPrefix(prefix) && key.count > prefix.count {
            key = String(key.dropFirst(prefix.count)).trimmingWhitespace()
            break
        }
        return aliasTable[key]
    }

    private static let aliasTable: [String: StandardLead] = {
        var table: [String: StandardLead] = [:]
        for lead in StandardLead.allCases { table[lead.name.lowercased()] = lead }
        let extra: [(String, StandardLead)] = [
            ("d1", .i), ("di", .i), ("mli", .i), ("1", .i),
            ("d2", .ii), ("dii", .ii), ("mlii", .ii), ("ml2", .ii), ("2", .ii),
            ("d3", .iii), ("diii", .iii), ("mliii", .iii), ("3", .iii),
            ("-avr", .aVR), ("vr", .aVR), ("avr", .aVR),
            ("vl", .aVL), ("avl", .aVL),
            ("vf", .aVF), ("avf", .aVF),
            ("c1", .v1), ("mv1", .v1), ("mlv1", .v1),
            ("c2", .v2), ("mv2", .v2),
            ("c3", .v3), ("c4", .v4), ("c5", .v5), ("mv5", .v5), ("mlv5", .v5), ("c6", .v6),
        ]
        for (alias, lead) in extra { table[alias] = lead }
        return table
    }()
}

extension String {
    /// The string without leading and trailing spaces, tabs and line breaks.
    public func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}

extension Lead: Codable {
    /// Encoded as its name (`"aVR"`, or the written name of another lead).
    public init(from decoder: any Decoder) throws {
        self.init(parsing: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(name)
    }
}

extension StandardLead {
    /// Encoded as its canonical name (`"aVR"`).
    public init(from decoder: any Decoder) throws {
        let name = try decoder.singleValueContainer().decode(String.self)
        guard let lead = Lead.standard(forAlias: name) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a standard lead: \(name)"))
        }
        self = lead
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(name)
    }
}
