import ECGCore
import Foundation
import KMERLTestSupport
import Testing

@testable import Knowledge

@Suite struct ExtractorTests {
    static let extractor: Extractor = {
        let url = SharedData.projectRoot.appendingPathComponent("Ontology/kmerl-ontology.xml")
        // The shipped ontology always loads (OntologyTests checks it); fail loudly otherwise.
        let ontology = try! Ontology.load(contentsOf: url)
        return Extractor(concepts: ontology.concepts)
    }()

    func found(_ text: String) -> [String] {
        Self.extractor.extract(text).map { "\($0.conceptID)/\($0.assertion.rawValue)" }
    }

    @Test func germanMachineReport() {
        // PTB-XL ecg_id 23 style: rhythm, LAFB, infarct with "alter unbest.", no English words.
        let text = "sinusrhythmus ueberdrehter linkstyp linksanteriorer hemiblock qrs(t) abnorm    inferiorer infarkt     alter unbest. 4.46                          unbestÄtigter bericht"
        let mentions = Self.extractor.extract(text)
        #expect(mentions.map(\.conceptID) == ["SR", "LAD", "LAFB", "ABQRS", "IMI"])
        let imi = mentions[4]
        #expect(imi.assertion == .present)
        #expect(imi.acuity == "age undetermined")
        #expect(imi.location == "inferior")
        let characters = Array(text)
        #expect(String(characters[imi.start..<imi.end]) == "inferiorer infarkt")
    }

    @Test func foldedUmlautsAndUncertainty() {
        #expect(found("sinusrhythmus lagetyp normal linkshypertrophie mÖglich qrs(t) abnorm") == ["SR/present", "LVH/uncertain", "ABQRS/present"])
        #expect(found("sinusrhythmus verdacht auf p-sinistrocardiale lagetyp normal linksschenkelblock") == ["SR/present", "LAO/LAE/uncertain", "CLBBB/present"])
        #expect(found("st & t abnorm, wahrscheinlich    anterolaterale ischÄmie oder linksbelastung") == ["NDT/present", "ISCAL/uncertain"])
        #expect(found("lateraler myokardschaden nicht auszuschliessen") == ["INJLA/uncertain"])
    }

    @Test func englishNegationAndLeads() {
        let mentions = Self.extractor.extract("sinus rhythm. no st elevation. st segments are depressed in i, ii, avl, v4,5,6.")
        #expect(mentions.map(\.conceptID) == ["SR", "STE_", "STD_"])
        #expect(mentions[1].assertion == .negated)
        #expect(mentions[2].assertion == .present)
        #expect(mentions[2].leads == [.i, .ii, .aVL, .v4, .v5, .v6])
    }

    @Test func leadListsInEveryWrittenForm() {
        func leads(_ text: String) -> [StandardLead] { Self.extractor.extract(text).first?.leads ?? [] }
        #expect(leads("st-hebung in v1-v3") == [.v1, .v2, .v3])
        #expect(leads("t-negativierung v4-6") == [.v4, .v5, .v6])
        #expect(leads("q waves in ii, iii, avf") == [.ii, .iii, .aVF])
        #expect(leads("t waves are inverted in i,iii,avl") == [.i, .iii, .aVL])
        #expect(leads("signifikantes q in iii") == [.iii])
        #expect(leads("infarkt inferior( ii, iii, f)") == [.ii, .iii, .aVF])
    }
}
