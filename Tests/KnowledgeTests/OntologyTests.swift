import ECGCore
import Foundation
import KMERLResources
import KMERLTestSupport
import Testing

@testable import Knowledge

@Suite struct OntologyTests {
    static let ontologyURL = SharedData.projectRoot.appendingPathComponent("Ontology/kmerl-ontology.xml")

    static func embedded() throws -> Ontology {
        let xml = try #require(EmbeddedResources.data(Ontology.embeddedPath))
        let xsd = try #require(EmbeddedResources.data(Ontology.embeddedSchemaPath))
        return try Ontology.load(xml: xml, schema: xsd, name: Ontology.embeddedPath)
    }

    /// A minimal valid ontology document around `body`.
    static func document(_ body: String, prolog: String = "") -> Data {
        Data("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\(prolog)<ontology version=\"t\">\n\(body)\n</ontology>\n".utf8)
    }

    static func schema() throws -> Data {
        try Data(contentsOf: SharedData.projectRoot.appendingPathComponent("Ontology/kmerl-ontology.xsd"))
    }

    static func loadError(_ xml: Data) throws -> OntologyError {
        do {
            _ = try Ontology.load(xml: xml, schema: try schema(), name: "bad.xml")
        } catch let error as OntologyError {
            return error
        }
        Issue.record("expected an OntologyError")
        throw CancellationError()
    }

    @Test func loadsTheShippedOntologyFromFileAndEmbedded() throws {
        let file = try Ontology.load(contentsOf: Self.ontologyURL)
        let embedded = try Self.embedded()
        #expect(file.version == "1.0.0")
        #expect(file.concepts.count == embedded.concepts.count)
        #expect(file.concepts.count == 170)
        let clbbb = try #require(file.concept(id: "CLBBB"))
        #expect(clbbb.codesText == "SNOMED:164909002;SNOMED:733534002;SCP:CLBBB;AHA:104;PTBXL-SUBCLASS:CLBBB")
        #expect(clbbb.parents == ["CD"])
        #expect(clbbb.category == .conduction)
        #expect(
            clbbb.criteria == [
                Criterion(measurement: "qrsDuration", minimum: 120, unit: "ms"),
                Criterion(measurement: "rAmplitude", maximum: 0.2, unit: "mV", leads: [.v1]),
            ])
        #expect(file.concept(id: "CRBBB")?.criteria.last == Criterion(measurement: "rAmplitude", minimum: 0.3, unit: "mV", leads: [.v1]))
        // Per-lead checks are not words of the concept's text (the text encoder never saw them).
        #expect(!clbbb.descriptionText.contains("rAmplitude"))
        #expect(clbbb.synonyms.contains(Synonym(text: "linksschenkelblock", language: "de")))
    }

    @Test func coversEverySCPStatementAndEverySNOMEDCode() throws {
        let ontology = try Ontology.load(contentsOf: Self.ontologyURL)
        let scp = Set(ontology.concepts.flatMap(\.codes).filter { $0.system == .scp }.map(\.code))
        let statements = try String(contentsOf: SharedData.url("ptbxl/scp_statements.csv"), encoding: .utf8)
            .split(whereSeparator: \.isNewline).dropFirst().map { String($0.split(separator: ",", omittingEmptySubsequences: false)[0]) }
        #expect(statements.count == 71)
        #expect(Set(statements) == scp)

        let snomed = Set(ontology.concepts.flatMap(\.codes).filter { $0.system == .snomed }.map(\.code))
        var expected: Set<String> = []
        for file in ["cinc2021/dx_mapping_scored.csv", "cinc2021/dx_mapping_unscored.csv"] {
            let text = try String(contentsOf: SharedData.url(file), encoding: .utf8)
            for line in text.split(whereSeparator: \.isNewline).dropFirst() {
                let fields = line.split(separator: ",", omittingEmptySubsequences: false)
                if fields.count > 1 { expected.insert(String(fields[1])) }
            }
        }
        let chapman = try String(contentsOf: SharedData.url("chapman/ConditionNames_SNOMED-CT.csv"), encoding: .utf8)
        for line in chapman.split(whereSeparator: \.isNewline).dropFirst() {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            if fields.count > 2 { expected.insert(fields[2].trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        #expect(expected.count == 137)
        #expect(expected.subtracting(snomed).isEmpty)
        // Each code lives on exactly one concept.
        for code in snomed {
            #expect(ontology.concepts(withCode: ConceptCode(system: .snomed, code: code)).count == 1)
        }
    }

    @Test func crosswalksAndHierarchy() throws {
        let ontology = try Ontology.load(contentsOf: Self.ontologyURL)
        // Right bundle branch block: both CinC codes (scored as one) on the SCP statement.
        let crbbb = try #require(ontology.concepts(withCode: ConceptCode(system: .snomed, code: "59118001")).first)
        #expect(crbbb.id == "CRBBB")
        #expect(crbbb.codes.contains(ConceptCode(system: .snomed, code: "713427006")))
        // Complete heart block = third degree AV block; inferior ischaemia = ISCIN.
        #expect(ontology.concepts(withCode: ConceptCode(system: .snomed, code: "27885002")).first?.id == "3AVB")
        #expect(ontology.concepts(withCode: ConceptCode(system: .snomed, code: "425419005")).first?.id == "ISCIN")
        // PTB-XL hierarchy: ILMI → IMI (subclass) → MI (class).
        #expect(ontology.ancestors(of: "ILMI") == ["IMI", "MI"])
        #expect(ontology.concept(id: "MI")?.codes.contains(ConceptCode(system: .ptbxlClass, code: "MI")) == true)
        #expect(ontology.concept(id: "ISCA")?.codes == [ConceptCode(system: .ptbxlSubclass, code: "ISCA")])
        #expect(Set(ontology.children(of: "_AVB").map(\.id)) == ["1AVB", "2AVB", "3AVB", "CIAHB"])
        #expect(ontology.concept(id: "IMI")?.territory == [.ii, .iii, .aVF])
        #expect(ontology.concept(id: "LAD")?.criteria.first?.maximum ?? 0 < -30)
        #expect(ontology.concept(id: "SBRAD")?.criteria.first?.isSatisfied(by: 52) == true)
        #expect(ontology.concept(id: "SBRAD")?.criteria.first?.isSatisfied(by: 72) == false)
        for classID in ["NORM", "MI", "STTC", "CD", "HYP"] {
            #expect(ontology.concept(id: classID)?.codes.contains(ConceptCode(system: .ptbxlClass, code: classID)) == true)
        }
    }

    @Test func descriptionTextNamesLabelSynonymsAndTerritory() throws {
        let ontology = try Self.embedded()
        let text = try #require(ontology.concept(id: "IMI")).descriptionText
        #expect(text.hasPrefix("inferior myocardial infarction; inferior infarction;"))
        #expect(text.contains("inferiorer infarkt"))
        #expect(text.hasSuffix("infarction; inferior leads II, III, aVF"))
        let clbbb = try #require(ontology.concept(id: "CLBBB")).descriptionText
        #expect(clbbb.contains("qrsDuration at least 120 ms"))
    }

    @Test func refusesExternalDTD() throws {
        let error = try Self.loadError(
            Self.document("<concept id=\"A\" category=\"form\"><label>a</label></concept>",
                prolog: "<!DOCTYPE ontology SYSTEM \"http://example.org/evil.dtd\">\n"))
        #expect(error.kind == .externalDTD)
        #expect(error.line == 2)
        #expect(error.description.hasPrefix("bad.xml:2: an external DTD"))
    }

    @Test func refusesExternalEntity() throws {
        let error = try Self.loadError(
            Self.document("<concept id=\"A\" category=\"form\"><label>&xxe;</label></concept>",
                prolog: "<!DOCTYPE ontology [\n<!ENTITY xxe SYSTEM \"file:///etc/passwd\">\n]>\n"))
        #expect(error.kind == .externalEntity)
        #expect(error.line == 2)
    }

    @Test func refusesBillionLaughs() throws {
        var prolog = "<!DOCTYPE ontology [\n<!ENTITY lol0 \"lol\">\n"
        for level in 1...9 {
            prolog += "<!ENTITY lol\(level) \"" + String(repeating: "&lol\(level - 1);", count: 10) + "\">\n"
        }
        prolog += "]>\n"
        let error = try Self.loadError(
            Self.document("<concept id=\"A\" category=\"form\"><label>&lol9;</label></concept>", prolog: prolog))
        #expect(error.kind == .entityDeclaration)
        #expect(error.message.contains("billion laughs"))
    }

    @Test func aDoctypeInsideACommentIsHarmless() throws {
        let ontology = try Ontology.load(
            xml: Self.document("<!-- <!DOCTYPE x SYSTEM \"y\"> -->\n<concept id=\"A\" category=\"form\"><label>a</label></concept>"),
            schema: Self.schema(), name: "ok.xml")
        #expect(ontology.concepts.map(\.id) == ["A"])
    }

    @Test func duplicateIDsAreErrorsWithTheLine() throws {
        let error = try Self.loadError(
            Self.document(
                "<concept id=\"A\" category=\"form\"><label>a</label></concept>\n<concept id=\"A\" category=\"form\"><label>b</label></concept>"
            ))
        // The XSD's xs:unique catches it first, naming the second concept's line.
        #expect(error.kind == .schemaViolation)
        #expect(error.line == 4)
        #expect(error.message.contains("uniqueConceptID") || error.message.contains("Duplicate"))
        // Concepts built in memory are checked too.
        #expect(throws: OntologyError.self) {
            _ = try Ontology(version: "t", concepts: [Concept(id: "A", label: "a", category: .form), Concept(id: "A", label: "b", category: .form)])
        }
    }

    @Test func unknownParentsAreErrorsWithTheLine() throws {
        let error = try Self.loadError(
            Self.document(
                "<concept id=\"A\" category=\"form\"><label>a</label></concept>\n<concept id=\"B\" category=\"form\"><label>b</label><parent ref=\"Z\"/></concept>"
            ))
        #expect(error.kind == .unknownParent)
        #expect(error.line == 4)
        #expect(error.description == "bad.xml:4: concept 'B' names unknown parent 'Z'")
    }

    @Test func schemaViolationsNameLineAndProblem() throws {
        let error = try Self.loadError(
            Self.document("<concept id=\"A\" category=\"colour\"><label>a</label></concept>"))
        #expect(error.kind == .schemaViolation)
        #expect(error.line == 3)
        #expect(error.message.contains("category"))
        let malformed = try Self.loadError(Data("<ontology version=\"1\">\n<concept>\n</ontology>".utf8))
        #expect(malformed.kind == .malformed)
        #expect(malformed.line == 3)
        let unknownLead = try Self.loadError(
            Self.document("<concept id=\"A\" category=\"form\"><label>a</label><territory>II V7</territory></concept>"))
        #expect(unknownLead.kind == .schemaViolation)
    }

    @Test func missingFilesNameThePath() throws {
        let directory = try SharedData.temporaryDirectory()
        let missing = directory.appendingPathComponent("none.xml")
        #expect(throws: OntologyError.self) { _ = try Ontology.load(contentsOf: missing) }
        do {
            _ = try Ontology.load(contentsOf: missing)
        } catch let error as OntologyError {
            #expect(error.kind == .unreadable)
            #expect(error.file == missing.path)
        }
    }
}
