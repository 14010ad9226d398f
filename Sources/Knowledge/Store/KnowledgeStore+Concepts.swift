import ECGCore
import Foundation
import GRDB

/// How a query text resolved to concepts.
public enum ConceptResolution: Sendable, Hashable {
    /// Exactly one concept answers to the text; `matchedBy` says how (`id`, `code`, `label`,
    /// `synonym`, `abbreviation`) and `matchedText` the name it matched.
    case found(Concept, matchedBy: String, matchedText: String)
    /// Several concepts answer to the text (e.g. an abbreviation shared by two concepts).
    case ambiguous([Concept])
    /// No concept answers; `suggestions` are the nearest names ("did you mean").
    case notFound(suggestions: [ConceptSuggestion])

    /// The concept when the resolution is unique.
    public var concept: Concept? {
        if case .found(let concept, _, _) = self { return concept }
        return nil
    }
}

/// A near miss offered as "did you mean".
public struct ConceptSuggestion: Sendable, Hashable, Codable {
    /// The name that nearly matched (a label, synonym, abbreviation, code or id).
    public var text: String
    /// The concept it names.
    public var conceptID: String
    /// The concept's preferred label.
    public var label: String
    /// Edit distance between the folded query and the folded name (0 for a containment match).
    public var distance: Int
}

/// A duplicate or otherwise unusable ontology.
public struct OntologyContentError: Error, Sendable, CustomStringConvertible {
    /// The ontology's name (file) for messages.
    public var source: String
    /// What is wrong.
    public var message: String

    public var description: String { "\(source): \(message)" }
}

extension KnowledgeStore {
    /// Loads `ontology` into the base, replacing the concepts with their codes, synonyms,
    /// parents, territories, criteria and lexicon in one transaction. Idempotent. Reports and
    /// mentions are kept (mentions refer to concepts by id).
    public func loadOntology(_ ontology: Ontology) throws {
        try loadConcepts(ontology.concepts, version: ontology.version, source: "ontology \(ontology.version)")
    }

    /// Loads `concepts` as the ontology `version` (see `loadOntology(_:)`). Throws, leaving the
    /// base unchanged, when two concepts share an id.
    public func loadConcepts(_ concepts: [Concept], version: String, source: String = "ontology") throws {
        var seen = Set<String>()
        for concept in concepts where !seen.insert(concept.id).inserted {
            throw OntologyContentError(source: source, message: "duplicate concept id '\(concept.id)'")
        }
        try write("load the ontology") { db in
            try db.execute(sql: "DELETE FROM concepts")  // cascades to codes, synonyms, parents, …
            let insertConcept = try db.makeStatement(
                sql: "INSERT INTO concepts (id, label, category, definition, position) VALUES (?, ?, ?, ?, ?)")
            let insertCode = try db.makeStatement(
                sql: "INSERT OR IGNORE INTO concept_codes (concept_id, system, code, position) VALUES (?, ?, ?, ?)")
            let insertSynonym = try db.makeStatement(
                sql: "INSERT INTO concept_synonyms (concept_id, text, language, is_abbreviation, position) VALUES (?, ?, ?, ?, ?)")
            let insertParent = try db.makeStatement(
                sql: "INSERT OR IGNORE INTO concept_parents (concept_id, parent_id, position) VALUES (?, ?, ?)")
            let insertTerritory = try db.makeStatement(
                sql: "INSERT OR IGNORE INTO concept_territories (concept_id, lead, position) VALUES (?, ?, ?)")
            let insertCriterion = try db.makeStatement(
                sql: "INSERT INTO concept_criteria (concept_id, measurement, minimum, maximum, unit, position, leads) VALUES (?, ?, ?, ?, ?, ?, ?)")
            let insertKey = try db.makeStatement(
                sql: "INSERT OR IGNORE INTO concept_lexicon (key, concept_id, kind, text) VALUES (?, ?, ?, ?)")
            for (position, concept) in concepts.enumerated() {
                try insertConcept.execute(arguments: [concept.id, concept.label, concept.category.rawValue, concept.definition, position])
                try insertKey.execute(arguments: [TextFolding.fold(concept.id), concept.id, "id", concept.id])
                try insertKey.execute(arguments: [TextFolding.fold(concept.label), concept.id, "label", concept.label])
                for (index, code) in concept.codes.enumerated() {
                    try insertCode.execute(arguments: [concept.id, code.system.rawValue, code.code, index])
                    try insertKey.execute(arguments: [TextFolding.fold(code.code), concept.id, "code", code.description])
                    try insertKey.execute(arguments: [TextFolding.fold(code.description), concept.id, "code", code.description])
                }
                for (index, synonym) in concept.synonyms.enumerated() {
                    try insertSynonym.execute(arguments: [concept.id, synonym.text, synonym.language, synonym.isAbbreviation, index])
                    try insertKey.execute(arguments: [
                        TextFolding.fold(synonym.text), concept.id, synonym.isAbbreviation ? "abbreviation" : "synonym", synonym.text,
                    ])
                }
                for (index, parent) in concept.parents.enumerated() {
                    try insertParent.execute(arguments: [concept.id, parent, index])
                }
                for (index, lead) in concept.territory.enumerated() {
                    try insertTerritory.execute(arguments: [concept.id, lead.name, index])
                }
                for (index, criterion) in concept.criteria.enumerated() {
                    try insertCriterion.execute(arguments: [
                        concept.id, criterion.measurement, criterion.minimum, criterion.maximum, criterion.unit, index,
                        criterion.leads.map(\.name).joined(separator: ";"),
                    ])
                }
            }
            try db.execute(
                sql: "INSERT OR REPLACE INTO ontology_info (key, value) VALUES ('version', ?), ('loaded_at', ?)",
                arguments: [version, ISO8601DateFormatter().string(from: Date())])
        }
    }

    /// The ontology version loaded in the base, or `nil` before any.
    public func ontologyVersion() throws -> String? {
        try read("read the ontology version") { db in
            try String.fetchOne(db, sql: "SELECT value FROM ontology_info WHERE key = 'version'")
        }
    }

    /// Every concept, in ontology order.
    public func concepts() throws -> [Concept] {
        try read("read the concepts") { db in try Self.fetchConcepts(db, ids: nil) }
    }

    /// The concept with `id`, or `nil`.
    public func concept(id: String) throws -> Concept? {
        try read("read concept \(id)") { db in try Self.fetchConcepts(db, ids: [id]).first }
    }

    /// Concepts by id (all when `ids` is nil), in ontology order.
    static func fetchConcepts(_ db: Database, ids: [String]?) throws -> [Concept] {
        var concepts: [Concept] = []
        var index: [String: Int] = [:]
        let filter: String
        let arguments: StatementArguments
        if let ids {
            if ids.isEmpty { return [] }
            filter = "WHERE concept_id IN (\(databaseQuestionMarks(count: ids.count)))"
            arguments = StatementArguments(ids)
        } else {
            filter = ""
            arguments = []
        }
        let conceptFilter = filter.replacingOccurrences(of: "concept_id", with: "id")
        let rows = try Row.fetchCursor(
            db, sql: "SELECT id, label, category, definition FROM concepts \(conceptFilter) ORDER BY position", arguments: arguments)
        while let row = try rows.next() {
            let id: String = row["id"]
            let category = ConceptCategory(rawValue: row["category"]) ?? .overall
            index[id] = concepts.count
            concepts.append(Concept(id: id, label: row["label"], category: category, definition: row["definition"]))
        }
        for row in try Row.fetchAll(db, sql: "SELECT concept_id, system, code FROM concept_codes \(filter) ORDER BY concept_id, position", arguments: arguments) {
            guard let i = index[row["concept_id"]], let system = CodeSystem(rawValue: row["system"]) else { continue }
            concepts[i].codes.append(ConceptCode(system: system, code: row["code"]))
        }
        for row in try Row.fetchAll(db, sql: "SELECT concept_id, text, language, is_abbreviation FROM concept_synonyms \(filter) ORDER BY concept_id, position", arguments: arguments) {
            guard let i = index[row["concept_id"]] else { continue }
            concepts[i].synonyms.append(Synonym(text: row["text"], language: row["language"], isAbbreviation: row["is_abbreviation"]))
        }
        for row in try Row.fetchAll(db, sql: "SELECT concept_id, parent_id FROM concept_parents \(filter) ORDER BY concept_id, position", arguments: arguments) {
            guard let i = index[row["concept_id"]] else { continue }
            concepts[i].parents.append(row["parent_id"])
        }
        for row in try Row.fetchAll(db, sql: "SELECT concept_id, lead FROM concept_territories \(filter) ORDER BY concept_id, position", arguments: arguments) {
            guard let i = index[row["concept_id"]], let lead = Lead.standard(forAlias: row["lead"]) else { continue }
            concepts[i].territory.append(lead)
        }
        for row in try Row.fetchAll(db, sql: "SELECT concept_id, measurement, minimum, maximum, unit, leads FROM concept_criteria \(filter) ORDER BY concept_id, position", arguments: arguments) {
            guard let i = index[row["concept_id"]] else { continue }
            let leads = (row["leads"] as String? ?? "").split(separator: ";").compactMap { Lead.standard(forAlias: String($0)) }
            concepts[i].criteria.append(
                Criterion(measurement: row["measurement"], minimum: row["minimum"], maximum: row["maximum"], unit: row["unit"], leads: leads))
        }
        return concepts
    }

    /// Resolves a user's text to a concept by id, code (`CLBBB`, `164909002`, `SNOMED:164909002`),
    /// label, synonym or abbreviation, ignoring case and diacritics. Near misses come back as
    /// suggestions.
    public func resolve(_ text: String) throws -> ConceptResolution {
        let key = TextFolding.fold(text)
        return try read("resolve '\(text)'") { db in
            let rows = try Row.fetchAll(
                db, sql: "SELECT concept_id, kind, text FROM concept_lexicon WHERE key = ?", arguments: [key])
            if !rows.isEmpty {
                // Prefer the strongest kind of match when several concepts answer.
                let rank = ["id": 0, "code": 1, "label": 2, "abbreviation": 3, "synonym": 4]
                let best = rows.map { rank[$0["kind"] as String, default: 9] }.min() ?? 9
                let strongest = rows.filter { rank[$0["kind"] as String, default: 9] == best }
                var ids: [String] = []
                for row in strongest where !ids.contains(row["concept_id"]) { ids.append(row["concept_id"]) }
                let concepts = try Self.fetchConcepts(db, ids: ids)
                if concepts.count == 1, let concept = concepts.first {
                    return .found(concept, matchedBy: strongest[0]["kind"], matchedText: strongest[0]["text"])
                }
                if concepts.count > 1 { return .ambiguous(concepts) }
            }
            return .notFound(suggestions: try Self.suggestions(db, key: key))
        }
    }

    /// The nearest lexicon names to `key`: small edit distance, or containment.
    static func suggestions(_ db: Database, key: String, limit: Int = 5) throws -> [ConceptSuggestion] {
        guard !key.isEmpty else { return [] }
        let query = Array(key.unicodeScalars)
        let allowed = max(1, min(3, query.count / 3))
        var best: [String: ConceptSuggestion] = [:]
        let rows = try Row.fetchCursor(
            db, sql: "SELECT l.key, l.concept_id, l.text, c.label FROM concept_lexicon l JOIN concepts c ON c.id = l.concept_id")
        while let row = try rows.next() {
            let candidate: String = row["key"]
            var distance: Int?
            if query.count >= 4 && candidate.contains(key) {
                distance = 0
            } else if abs(candidate.unicodeScalars.count - query.count) <= allowed {
                let d = editDistance(query, Array(candidate.unicodeScalars), limit: allowed)
                if d <= allowed { distance = d }
            }
            guard let distance else { continue }
            let id: String = row["concept_id"]
            if let existing = best[id], existing.distance <= distance { continue }
            best[id] = ConceptSuggestion(text: row["text"], conceptID: id, label: row["label"], distance: distance)
        }
        return best.values.sorted { ($0.distance, $0.text.count, $0.conceptID) < ($1.distance, $1.text.count, $1.conceptID) }
            .prefix(limit).map { $0 }
    }

    /// Levenshtein distance, giving up (returning `limit + 1`) once it exceeds `limit`.
    static func editDistance(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar], limit: Int) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            var rowMinimum = current[0]
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                rowMinimum = min(rowMinimum, current[j])
            }
            if rowMinimum > limit { return limit + 1 }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
