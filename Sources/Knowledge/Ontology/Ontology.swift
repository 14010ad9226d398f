import ECGCore
import Foundation

/// The cardiology vocabulary of kmerl: concepts with codes, synonyms, parents, lead territories
/// and measurement criteria, loaded from `Ontology/kmerl-ontology.xml` and validated against its XSD.
public struct Ontology: Sendable {
    /// The `version` attribute of the ontology document.
    public var version: String
    /// Every concept, in document order.
    public var concepts: [Concept] {
        didSet { index = Ontology.makeIndex(concepts) }
    }

    private var index: [String: Int]

    /// File name of the schema expected next to the ontology XML.
    public static let defaultSchemaName = "kmerl-ontology.xsd"
    /// Path of the ontology inside `EmbeddedResources`.
    public static let embeddedPath = "Ontology/kmerl-ontology.xml"
    /// Path of the schema inside `EmbeddedResources`.
    public static let embeddedSchemaPath = "Ontology/kmerl-ontology.xsd"

    /// An ontology from concepts already in memory (checked for duplicate ids and unknown parents).
    public init(version: String, concepts: [Concept], name: String = "ontology") throws {
        self.version = version
        self.concepts = concepts
        self.index = Ontology.makeIndex(concepts)
        try Ontology.checkGraph(concepts, lines: [:], file: name)
    }

    private init(uncheckedVersion version: String, concepts: [Concept]) {
        self.version = version
        self.concepts = concepts
        self.index = Ontology.makeIndex(concepts)
    }

    /// Loads and validates the ontology at `url` against `schema`
    /// (default: `kmerl-ontology.xsd` in the same folder).
    public static func load(contentsOf url: URL, schema: URL? = nil) throws -> Ontology {
        let schemaURL = schema ?? url.deletingLastPathComponent().appendingPathComponent(defaultSchemaName)
        let xml: Data
        let xsd: Data
        do { xml = try Data(contentsOf: url) } catch {
            throw OntologyError(kind: .unreadable, file: url.path, line: nil, message: "cannot read the ontology: \(error.localizedDescription)")
        }
        do { xsd = try Data(contentsOf: schemaURL) } catch {
            throw OntologyError(kind: .unreadable, file: schemaURL.path, line: nil, message: "cannot read the ontology schema: \(error.localizedDescription)")
        }
        return try load(xml: xml, schema: xsd, name: url.path, schemaName: schemaURL.path)
    }

    /// Loads and validates an ontology held in memory (e.g. the embedded copy); `name` is used in errors.
    public static func load(xml: Data, schema: Data, name: String) throws -> Ontology {
        try load(xml: xml, schema: schema, name: name, schemaName: name.replacingOccurrences(of: ".xml", with: ".xsd"))
    }

    static func load(xml: Data, schema: Data, name: String, schemaName: String) throws -> Ontology {
        let parsed = try OntologyXML.parse(xml: xml, schema: schema, name: name, schemaName: schemaName)
        try checkGraph(parsed.concepts, lines: parsed.lines, file: name)
        return Ontology(uncheckedVersion: parsed.version, concepts: parsed.concepts)
    }

    /// The concept with this id, or `nil`.
    public func concept(id: String) -> Concept? {
        index[id].map { concepts[$0] }
    }

    /// The concepts carrying `code` (usually one; a code is never split over concepts in the shipped ontology).
    public func concepts(withCode code: ConceptCode) -> [Concept] {
        concepts.filter { $0.codes.contains(code) }
    }

    /// The concepts whose parents include `id`.
    public func children(of id: String) -> [Concept] {
        concepts.filter { $0.parents.contains(id) }
    }

    /// Every ancestor id of `id` (parents, their parents …), nearest first, without repeats.
    public func ancestors(of id: String) -> [String] {
        var result: [String] = []
        var queue = concept(id: id)?.parents ?? []
        while !queue.isEmpty {
            let next = queue.removeFirst()
            guard !result.contains(next) else { continue }
            result.append(next)
            queue.append(contentsOf: concept(id: next)?.parents ?? [])
        }
        return result
    }

    private static func makeIndex(_ concepts: [Concept]) -> [String: Int] {
        var index: [String: Int] = [:]
        for (offset, concept) in concepts.enumerated() where index[concept.id] == nil { index[concept.id] = offset }
        return index
    }

    /// Duplicate ids, unknown parents and parent cycles are errors.
    static func checkGraph(_ concepts: [Concept], lines: [Int: Int], file: String) throws {
        var seen: [String: Int] = [:]
        for (offset, concept) in concepts.enumerated() {
            if seen[concept.id] != nil {
                throw OntologyError(
                    kind: .duplicateID, file: file, line: lines[offset],
                    message: "duplicate concept id '\(concept.id)' (concept number \(offset + 1))")
            }
            seen[concept.id] = offset
        }
        for (offset, concept) in concepts.enumerated() {
            for parent in concept.parents where seen[parent] == nil {
                throw OntologyError(
                    kind: .unknownParent, file: file, line: lines[offset],
                    message: "concept '\(concept.id)' names unknown parent '\(parent)'")
            }
        }
        // Cycle check (depth-first, iterative colouring).
        var state = [Int](repeating: 0, count: concepts.count)  // 0 new, 1 on stack, 2 done
        for start in concepts.indices where state[start] == 0 {
            var stack: [(Int, Int)] = [(start, 0)]
            state[start] = 1
            while let (node, next) = stack.last {
                let parents = concepts[node].parents
                if next < parents.count {
                    stack[stack.count - 1].1 += 1
                    guard let parent = seen[parents[next]] else { continue }
                    if state[parent] == 1 {
                        throw OntologyError(
                            kind: .unknownParent, file: file, line: lines[node],
                            message: "parent cycle through '\(concepts[node].id)' and '\(concepts[parent].id)'")
                    }
                    if state[parent] == 0 {
                        state[parent] = 1
                        stack.append((parent, 0))
                    }
                } else {
                    state[node] = 2
                    stack.removeLast()
                }
            }
        }
    }
}

extension Concept {
    /// Text describing the concept for a text encoder: the label, the synonyms (English first,
    /// abbreviations last), the category, territory words with their leads, and the criteria in words,
    /// e.g. `inferior myocardial infarction; inferior infarction; … ; infarction; inferior leads II, III, aVF`.
    public var descriptionText: String {
        var parts: [String] = [label]
        var seen: Set<String> = [label.lowercased()]
        let ordered =
            synonyms.filter { $0.language == "en" && !$0.isAbbreviation }
            + synonyms.filter { $0.language != "en" && !$0.isAbbreviation }
            + synonyms.filter(\.isAbbreviation)
        for synonym in ordered where seen.insert(synonym.text.lowercased()).inserted {
            parts.append(synonym.text)
        }
        parts.append(category.rawValue)
        if !territory.isEmpty {
            let names = territory.map(\.name).joined(separator: ", ")
            if let region = TerritoryName.region(of: territory) {
                parts.append("\(region) leads \(names)")
            } else {
                parts.append("leads \(names)")
            }
        }
        // Per-lead criteria are checks for the measurement layer, not words of the concept's text
        // (the text encoder was trained on the texts without them).
        for criterion in criteria where criterion.leads.isEmpty {
            var words = criterion.measurement
            if let minimum = criterion.minimum, let maximum = criterion.maximum {
                words += " \(format(minimum)) to \(format(maximum)) \(criterion.unit)"
            } else if let minimum = criterion.minimum {
                words += " at least \(format(minimum)) \(criterion.unit)"
            } else if let maximum = criterion.maximum {
                words += " at most \(format(maximum)) \(criterion.unit)"
            }
            parts.append(words)
        }
        return parts.joined(separator: "; ")
    }

    private func format(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}

/// Names of the lead territories used in reports.
enum TerritoryName {
    static let regions: [(String, Set<StandardLead>)] = [
        ("inferior", [.ii, .iii, .aVF]),
        ("high lateral", [.i, .aVL]),
        ("lateral", [.i, .aVL, .v5, .v6]),
        ("septal", [.v1, .v2]),
        ("anterior", [.v3, .v4]),
        ("anteroseptal", [.v1, .v2, .v3, .v4]),
        ("anterolateral", [.i, .aVL, .v3, .v4, .v5, .v6]),
        ("inferolateral", [.ii, .iii, .aVF, .i, .aVL, .v5, .v6]),
        ("posterior", [.v1, .v2, .v3]),
    ]

    /// The region whose leads equal `leads`, if any.
    static func region(of leads: [StandardLead]) -> String? {
        let set = Set(leads)
        return regions.first { $0.1 == set }?.0
    }
}
