import ArgumentParser
import Foundation
import Knowledge

/// `kmerl-kb query TEXT`.
struct QueryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Show what the base knows about a concept: codes, parents, synonyms, reports by assertion, leads, attributes, co-occurring concepts, excerpts.",
        discussion: "TEXT may be a concept id, a code (CLBBB, 164909002, SNOMED:164909002), a label, a synonym or an abbreviation, in any case."
    )

    @Argument(help: "The concept to look up.")
    var text: String

    @OptionGroup var database: DatabaseOptions

    @Flag(help: "Print JSON.")
    var json = false

    struct NotFound: Error, CustomStringConvertible {
        var text: String
        var suggestions: [ConceptSuggestion]
        var description: String {
            guard !suggestions.isEmpty else { return "no concept matches '\(text)'" }
            let list = suggestions.map { "\($0.text) (\($0.conceptID): \($0.label))" }.joined(separator: ", ")
            return "no concept matches '\(text)'; did you mean: \(list)?"
        }
    }

    struct Ambiguous: Error, CustomStringConvertible {
        var text: String
        var concepts: [Concept]
        var description: String {
            "'\(text)' names several concepts: " + concepts.map { "\($0.id) (\($0.label))" }.joined(separator: ", ")
                + "; query one of the ids"
        }
    }

    func run() async throws {
        let store = try database.open()
        let concept: Concept
        switch try store.resolve(text) {
        case .found(let found, _, _): concept = found
        case .ambiguous(let concepts): throw Ambiguous(text: text, concepts: concepts)
        case .notFound(let suggestions): throw NotFound(text: text, suggestions: suggestions)
        }
        let summary = try store.summary(of: concept)
        if json {
            print(try jsonString(summary))
            return
        }
        print(render(summary))
    }

    func render(_ s: ConceptSummary) -> String {
        var out: [String] = []
        let c = s.concept
        out.append("\(c.id) — \(c.label) [\(c.category.rawValue)]")
        if let definition = c.definition { out.append("  \(definition)") }
        out.append("  codes:     \(c.codesText.isEmpty ? "—" : c.codesText.replacingOccurrences(of: ";", with: ", "))")
        if !s.parents.isEmpty { out.append("  parents:   \(s.parents.map(\.name).joined(separator: ", "))") }
        if !s.children.isEmpty { out.append("  children:  \(s.children.joined(separator: ", "))") }
        if !c.synonyms.isEmpty {
            out.append("  synonyms:  " + c.synonyms.map { "\($0.text) (\($0.language)\($0.isAbbreviation ? ", abbr." : ""))" }.joined(separator: ", "))
        }
        if !c.territory.isEmpty { out.append("  territory: \(c.territory.map(\.name).joined(separator: ", "))") }
        for criterion in c.criteria {
            let bounds = [criterion.minimum.map { "≥ \($0.formatted())" }, criterion.maximum.map { "≤ \($0.formatted())" }]
                .compactMap { $0 }.joined(separator: " and ")
            out.append("  criterion: \(criterion.measurement) \(bounds) \(criterion.unit)")
        }
        out.append("reports:     " + s.reportsByAssertion.map { "\($0.name) \($0.count)" }.joined(separator: ", "))
        func list(_ counts: [NamedCount]) -> String {
            counts.isEmpty ? "—" : counts.map { "\($0.name) \($0.count)" }.joined(separator: ", ")
        }
        out.append("leads:       " + list(s.leads))
        out.append("severity:    " + list(s.severity))
        out.append("acuity:      " + list(s.acuity))
        if !s.location.isEmpty { out.append("location:    " + list(s.location)) }
        out.append("co-occurs with:")
        if s.cooccurring.isEmpty { out.append("  —") }
        for other in s.cooccurring { out.append("  \(other.reports)\t\(other.conceptID) (\(other.label))") }
        out.append("excerpts:")
        if s.excerpts.isEmpty { out.append("  — (no report mentions it)") }
        for excerpt in s.excerpts {
            let leads = excerpt.leads.isEmpty ? "" : ", leads \(excerpt.leads.joined(separator: ";"))"
            out.append("  report \(excerpt.reportID) (\(excerpt.assertion.rawValue)\(leads)): \(excerpt.marked)")
        }
        return out.joined(separator: "\n")
    }
}

/// `kmerl-kb stats`.
struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stats", abstract: "Counts for the whole knowledge base.")

    @OptionGroup var database: DatabaseOptions

    @Flag(help: "Print JSON.")
    var json = false

    func run() async throws {
        let store = try database.open()
        let stats = try store.stats()
        if json {
            print(try jsonString(stats))
            return
        }
        print("knowledge base \(stats.path)")
        print("  ontology:          \(stats.ontologyVersion ?? "none") — \(stats.concepts) concepts, \(stats.codes) codes, \(stats.synonyms) synonyms")
        let formats = stats.reportsByFormat.map { "\($0.name) \($0.count)" }.joined(separator: ", ")
        print("  reports:           \(stats.reports)" + (formats.isEmpty ? "" : " (\(formats))"))
        print("  mentions:          \(stats.mentions) (" + stats.mentionsByAssertion.map { "\($0.name) \($0.count)" }.joined(separator: ", ") + ")")
        print("  concepts mentioned: \(stats.conceptsMentioned)")
        print("  import runs:       \(stats.importRuns)")
        if !stats.topConcepts.isEmpty {
            print("  most often present:")
            for top in stats.topConcepts { print("    \(top.count)\t\(top.name)") }
        }
    }
}
