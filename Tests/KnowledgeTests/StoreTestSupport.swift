import ECGCore
import Foundation
@testable import Knowledge

/// Hand-built concepts for store tests that must not depend on the shipped ontology.
enum HandBuilt {
    static let concepts: [Concept] = [
        Concept(id: "CD", label: "Conduction disturbance", category: .conduction, codes: [ConceptCode(system: .ptbxlClass, code: "CD")]),
        Concept(
            id: "CLBBB", label: "Complete left bundle branch block", category: .conduction,
            codes: [
                ConceptCode(system: .scp, code: "CLBBB"), ConceptCode(system: .snomed, code: "164909002"),
                ConceptCode(system: .ptbxlClass, code: "CD"),
            ],
            synonyms: [
                Synonym(text: "left bundle branch block", language: "en"), Synonym(text: "LBBB", language: "en", isAbbreviation: true),
                Synonym(text: "linksschenkelblock", language: "de"),
            ],
            parents: ["CD"], criteria: [Criterion(measurement: "qrsDuration", minimum: 120, unit: "ms")]),
        Concept(
            id: "IMI", label: "Inferior myocardial infarction", category: .infarction,
            codes: [ConceptCode(system: .scp, code: "IMI"), ConceptCode(system: .snomed, code: "704997005")],
            synonyms: [Synonym(text: "inferior infarction", language: "en"), Synonym(text: "inferiorer infarkt", language: "de")],
            territory: [.ii, .iii, .aVF]),
        Concept(
            id: "SR", label: "Sinus rhythm", category: .rhythm, codes: [ConceptCode(system: .scp, code: "SR")],
            synonyms: [Synonym(text: "sinusrhythmus", language: "de")]),
    ]

    /// A minimal lexicon matcher over `concepts` (labels and synonyms, lower-cased substring
    /// search; `no ` right before a match negates it). It lets the store tests control exactly
    /// which mentions go in; the shipped extractor is tested with the ontology.
    static func extract(_ text: String) -> [Mention] {
        let lower = text.lowercased()
        var mentions: [Mention] = []
        for concept in concepts {
            for name in [concept.label] + concept.synonyms.map(\.text) {
                var from = lower.startIndex
                while let range = lower.range(of: name.lowercased(), range: from..<lower.endIndex) {
                    let start = lower.distance(from: lower.startIndex, to: range.lowerBound)
                    let end = lower.distance(from: lower.startIndex, to: range.upperBound)
                    let negated = lower[..<range.lowerBound].hasSuffix("no ")
                    let rest = lower[range.upperBound...]
                    let leads: [StandardLead] = rest.hasPrefix(" in ii, iii, avf") ? [.ii, .iii, .aVF] : []
                    mentions.append(
                        Mention(
                            conceptID: concept.id, start: start, end: end, assertion: negated ? .negated : .present,
                            leads: leads, severity: rest.contains(" marked") ? "marked" : nil))
                    from = range.upperBound
                }
            }
        }
        return mentions.sorted { $0.start < $1.start }
    }

    static func store() throws -> KnowledgeStore {
        let store = try KnowledgeStore.inMemory()
        try store.loadConcepts(concepts, version: "test-1")
        return store
    }
}

/// Writes `contents` to a file in a fresh temporary directory.
func temporaryFile(_ name: String, _ contents: String) throws -> URL {
    try temporaryFile(name, Data(contents.utf8))
}

func temporaryFile(_ name: String, _ contents: Data) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("kmerl-kb-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    let file = url.appendingPathComponent(name)
    try contents.write(to: file)
    return file
}
