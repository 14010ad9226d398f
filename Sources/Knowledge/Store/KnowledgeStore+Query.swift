import ECGCore
import Foundation
import GRDB

/// A named count (`present: 482`, `V1: 37`).
public struct NamedCount: Sendable, Codable, Hashable {
    public var name: String
    public var count: Int

    /// Creates a count.
    public init(name: String, count: Int) {
        self.name = name
        self.count = count
    }
}

/// A concept that occurs in the same reports as another.
public struct CooccurringConcept: Sendable, Codable, Hashable {
    public var conceptID: String
    public var label: String
    /// Reports in which both are asserted (present, uncertain or historical).
    public var reports: Int
}

/// A piece of a report around one mention, with the mention marked `[[like this]]`.
public struct ReportExcerpt: Sendable, Codable, Hashable {
    /// The source's id of the report (PTB-XL `ecg_id`).
    public var reportID: String
    public var assertion: Assertion
    public var leads: [String]
    /// The excerpt with the mention between `[[` and `]]`.
    public var marked: String
    /// The mentioned words.
    public var mention: String
}

/// Everything the base knows about one concept (`kmerl-kb query`).
public struct ConceptSummary: Sendable, Codable, Hashable {
    public var concept: Concept
    /// Id and label of each parent.
    public var parents: [NamedCount]
    /// Ids and labels of the concept's children.
    public var children: [String]
    /// Reports mentioning the concept, per assertion (present, negated, uncertain, historical).
    public var reportsByAssertion: [NamedCount]
    /// Mentions naming each lead, in lead order.
    public var leads: [NamedCount]
    /// Mentions per severity, most frequent first.
    public var severity: [NamedCount]
    /// Mentions per acuity, most frequent first.
    public var acuity: [NamedCount]
    /// Mentions per location, most frequent first.
    public var location: [NamedCount]
    /// The concepts asserted in the same reports most often.
    public var cooccurring: [CooccurringConcept]
    /// Up to three report excerpts with the mention marked.
    public var excerpts: [ReportExcerpt]
}

/// Counts of the whole base (`kmerl-kb stats`).
public struct KnowledgeStats: Sendable, Codable, Hashable {
    public var path: String
    public var ontologyVersion: String?
    public var concepts: Int
    public var codes: Int
    public var synonyms: Int
    public var reports: Int
    public var mentions: Int
    public var importRuns: Int
    /// Reports per source format (`ptbxl`, `mimic`, `generic`).
    public var reportsByFormat: [NamedCount]
    /// Mentions per assertion.
    public var mentionsByAssertion: [NamedCount]
    /// Concepts with at least one mention.
    public var conceptsMentioned: Int
    /// The most often present concepts (reports).
    public var topConcepts: [NamedCount]
}

/// One report and what was extracted from it: a training pair for the knowledge-aligned encoder.
public struct ReportKnowledge: Sendable, Hashable {
    /// The source's id (PTB-XL `ecg_id`, which names record `NNNNN_lr`).
    public var externalID: String
    public var text: String
    public var mentions: [Mention]

    /// Creates a pair.
    public init(externalID: String, text: String, mentions: [Mention]) {
        self.externalID = externalID
        self.text = text
        self.mentions = mentions
    }
}

extension KnowledgeStore {
    /// The summary of `concept` for `kmerl-kb query`: answered from the summary tables and two
    /// indexed lookups, so it stays fast on a million-report base.
    public func summary(of concept: Concept, cooccurringLimit: Int = 10, excerptLimit: Int = 3) throws -> ConceptSummary {
        try read("query \(concept.id)") { db in
            let id = concept.id
            var parents: [NamedCount] = []
            for parent in concept.parents {
                let label = try String.fetchOne(db, sql: "SELECT label FROM concepts WHERE id = ?", arguments: [parent])
                parents.append(NamedCount(name: label.map { "\(parent) (\($0))" } ?? parent, count: 0))
            }
            let children = try String.fetchAll(
                db, sql: "SELECT concept_id FROM concept_parents WHERE parent_id = ? ORDER BY concept_id", arguments: [id])
            var byAssertion: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT assertion, reports FROM concept_report_counts WHERE concept_id = ?", arguments: [id]) {
                byAssertion[row["assertion"]] = row["reports"]
            }
            let assertions = Assertion.allCases.map { NamedCount(name: $0.rawValue, count: byAssertion[$0.rawValue] ?? 0) }
            var leadCounts: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT lead, mentions FROM concept_lead_counts WHERE concept_id = ?", arguments: [id]) {
                leadCounts[row["lead"]] = row["mentions"]
            }
            let leads = StandardLead.allCases.compactMap { lead in leadCounts[lead.name].map { NamedCount(name: lead.name, count: $0) } }
            func attribute(_ name: String) throws -> [NamedCount] {
                try Row.fetchAll(
                    db,
                    sql: "SELECT value, mentions FROM concept_attribute_counts WHERE concept_id = ? AND attribute = ? ORDER BY mentions DESC, value",
                    arguments: [id, name]
                ).map { NamedCount(name: $0["value"], count: $0["mentions"]) }
            }
            let cooccurring = try Row.fetchAll(
                db,
                sql: """
                    SELECT o.other_id, COALESCE(c.label, o.other_id) AS label, o.reports FROM concept_cooccurrence o
                    LEFT JOIN concepts c ON c.id = o.other_id
                    WHERE o.concept_id = ? ORDER BY o.reports DESC, o.other_id LIMIT ?
                    """,
                arguments: [id, cooccurringLimit]
            ).map { CooccurringConcept(conceptID: $0["other_id"], label: $0["label"], reports: $0["reports"]) }
            var excerpts: [ReportExcerpt] = []
            var reportsSeen = Set<Int64>()
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT m.report_id, m.start, m."end", m.assertion, m.leads, r.external_id, r.text
                    FROM mentions m JOIN reports r ON r.id = m.report_id
                    WHERE m.concept_id = ? ORDER BY m.report_id LIMIT ?
                    """,
                arguments: [id, excerptLimit * 4])
            while excerpts.count < excerptLimit, let row = try rows.next() {
                guard reportsSeen.insert(row["report_id"]).inserted else { continue }
                let text: String = row["text"]
                let (marked, words) = Self.mark(text, start: row["start"], end: row["end"])
                excerpts.append(
                    ReportExcerpt(
                        reportID: row["external_id"], assertion: Assertion(rawValue: row["assertion"]) ?? .present,
                        leads: LeadSet.leads(row["leads"]).map(\.name), marked: marked, mention: words))
            }
            return ConceptSummary(
                concept: concept, parents: parents, children: children, reportsByAssertion: assertions, leads: leads,
                severity: try attribute("severity"), acuity: try attribute("acuity"), location: try attribute("location"),
                cooccurring: cooccurring, excerpts: excerpts)
        }
    }

    /// `text` cut to about `context` characters around the span `start..<end` (in `Character`s),
    /// with the span between `[[` and `]]`; also the span's words.
    static func mark(_ text: String, start: Int, end: Int, context: Int = 60) -> (String, String) {
        let characters = Array(text)
        let lower = min(max(0, start), characters.count)
        let upper = min(max(lower, end), characters.count)
        let from = max(0, lower - context)
        let to = min(characters.count, upper + context)
        // Runs of spaces and line breaks (PTB-XL pads its reports) read as one space.
        func squeeze(_ slice: ArraySlice<Character>) -> String {
            var out = ""
            var lastWasSpace = false
            for character in slice {
                if character.isWhitespace {
                    if !lastWasSpace { out.append(" ") }
                    lastWasSpace = true
                } else {
                    out.append(character)
                    lastWasSpace = false
                }
            }
            return out
        }
        let before = squeeze(characters[from..<lower])
        let words = squeeze(characters[lower..<upper])
        let after = squeeze(characters[upper..<to])
        let marked = (from > 0 ? "…" : "") + before + "[[" + words + "]]" + after + (to < characters.count ? "…" : "")
        return (marked, words)
    }

    /// Counts of the whole base.
    public func stats() throws -> KnowledgeStats {
        try read("read statistics") { db in
            func count(_ sql: String) throws -> Int { try Int.fetchOne(db, sql: sql) ?? 0 }
            let formats = try Row.fetchAll(
                // import_runs keeps per-run totals (reports are never deleted), so no scan of reports.
                db,
                sql: "SELECT format, SUM(reports_added) AS n FROM import_runs GROUP BY format HAVING n > 0 ORDER BY n DESC, format"
            ).map { NamedCount(name: $0["format"], count: $0["n"]) }
            let assertions = try Row.fetchAll(
                db, sql: "SELECT assertion, SUM(mentions) AS n FROM concept_report_counts GROUP BY assertion"
            ).reduce(into: [String: Int]()) { $0[$1["assertion"]] = $1["n"] }
            let top = try Row.fetchAll(
                db,
                sql: """
                    SELECT k.concept_id, k.reports FROM concept_report_counts k
                    WHERE k.assertion = 'present' ORDER BY k.reports DESC, k.concept_id LIMIT 10
                    """
            ).map { NamedCount(name: $0["concept_id"], count: $0["reports"]) }
            return KnowledgeStats(
                path: path,
                ontologyVersion: try String.fetchOne(db, sql: "SELECT value FROM ontology_info WHERE key = 'version'"),
                concepts: try count("SELECT COUNT(*) FROM concepts"),
                codes: try count("SELECT COUNT(*) FROM concept_codes"),
                synonyms: try count("SELECT COUNT(*) FROM concept_synonyms"),
                reports: formats.reduce(0) { $0 + $1.count },
                mentions: try count("SELECT COALESCE(SUM(mentions_added), 0) FROM import_runs"),
                importRuns: try count("SELECT COUNT(*) FROM import_runs"),
                reportsByFormat: formats,
                mentionsByAssertion: Assertion.allCases.map { NamedCount(name: $0.rawValue, count: assertions[$0.rawValue] ?? 0) },
                conceptsMentioned: try count("SELECT COUNT(DISTINCT concept_id) FROM concept_report_counts"),
                topConcepts: top)
        }
    }

    /// Every report with its mentions (in import order), optionally only those of one source
    /// format: the paired corpus for training.
    public func trainingPairs(format: ReportFormat? = nil) throws -> [ReportKnowledge] {
        try read("read training pairs") { db in
            var pairs: [ReportKnowledge] = []
            var index: [Int64: Int] = [:]
            let filter = format == nil ? "" : "WHERE import_run_id IN (SELECT id FROM import_runs WHERE format = ?)"
            let arguments: StatementArguments = format.map { [$0.rawValue] } ?? []
            let reports = try Row.fetchCursor(db, sql: "SELECT id, external_id, text FROM reports \(filter) ORDER BY id", arguments: arguments)
            while let row = try reports.next() {
                index[row["id"]] = pairs.count
                pairs.append(ReportKnowledge(externalID: row["external_id"], text: row["text"], mentions: []))
            }
            let mentions = try Row.fetchCursor(
                db,
                sql: """
                    SELECT m.report_id, m.concept_id, m.start, m."end", m.assertion, m.leads, m.location, m.severity, m.acuity
                    FROM mentions m ORDER BY m.id
                    """)
            while let row = try mentions.next() {
                guard let i = index[row["report_id"]] else { continue }
                pairs[i].mentions.append(
                    Mention(
                        conceptID: row["concept_id"], start: row["start"], end: row["end"],
                        assertion: Assertion(rawValue: row["assertion"]) ?? .present, leads: LeadSet.leads(row["leads"]),
                        location: row["location"], severity: row["severity"], acuity: row["acuity"]))
            }
            return pairs
        }
    }
}
