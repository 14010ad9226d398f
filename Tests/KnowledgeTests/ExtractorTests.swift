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
        #expect(found("sinusrhythmus lagetyp normal linkshypertrophie mÖglich qrs(t) abnorm") == ["SR/present", "NAXIS/present", "LVH/uncertain", "ABQRS/present"])
        #expect(found("sinusrhythmus verdacht auf p-sinistrocardiale lagetyp normal linksschenkelblock") == ["SR/present", "PMITR/uncertain", "NAXIS/present", "CLBBB/present"])
        #expect(found("st & t abnorm, wahrscheinlich    anterolaterale ischÄmie oder linksbelastung") == ["STTC/present", "ISCAL/uncertain"])
        #expect(found("lateraler myokardschaden nicht auszuschliessen") == ["LMI/uncertain"])
        #expect(found("sinusrhythmus lagetyp normal unspezifisches abnormes t") == ["SR/present", "NAXIS/present", "NDT/present"])
        // PTB-XL abbreviations: llt (Linkslagetyp), slt (Steillagetyp), lah (left anterior hemiblock).
        #expect(found("llt sinusbradikardie av block 1. grades lah") == ["LAXIS/present", "SBRAD/present", "1AVB/present", "LAFB/present"])
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

@Suite struct ExtractorContextTests {
    func mentions(_ text: String) -> [Mention] { ExtractorTests.extractor.extract(text) }

    @Test func realEnglishReportWithUncertaintyAndAcuity() {
        // PTB-XL style English report: "possible old inferior myocardial infarction".
        let found = mentions("sinus rhythm. left axis deviation. possible old inferior myocardial infarction.")
        #expect(found.map(\.conceptID) == ["SR", "LAD", "IMI"])
        #expect(found[2].assertion == .uncertain)
        #expect(found[2].acuity == "old")
        #expect(found[2].location == "inferior")
    }

    /// PTB-XL ecg_id 1415 (labelled ASMI, LVOLT, SR): QS complexes are their own pattern, not QWAVE;
    /// "anterior myocardial infarction" follows the PTB-XL label ASMI; the leads go to the QS complexes.
    @Test func qsComplexesAndAnteroseptalInfarction() {
        let found = mentions("sinus rhythm. low limb lead voltage. qs complexes in v2,3 consistent with old anteroseptal myocardial infarction.")
        #expect(found.map(\.conceptID) == ["SR", "LVOLT", "QSCX", "ASMI"])
        #expect(found[2].leads == [.v2, .v3])
        #expect(found[3].acuity == "old")
        #expect(mentions("q waves in v2,3,4 consistent with old anterior myocardial infarction.").map(\.conceptID) == ["QWAVE", "ASMI"])
    }

    @Test func germanNegationAndHistory() {
        let negated = mentions("sinusrhythmus, kein hinweis auf infarkt")
        #expect(negated.map { "\($0.conceptID)/\($0.assertion.rawValue)" } == ["SR/present", "MI/negated"])
        let history = mentions("status nach hinterwandinfarkt")
        #expect(history.first?.conceptID == "IMI")
        #expect(history.first?.assertion == .historical)
        let without = mentions("normal sinus rhythm without st elevation")
        #expect(without.map { "\($0.conceptID)/\($0.assertion.rawValue)" } == ["SR/present", "STE_/negated"])
    }

    @Test func postModifiersScopeToTheirMentionOnly() {
        // "mögl. akut" is the acuity of the anteroseptal infarct; the next statement stays present.
        let found = mentions("qrs(t) abnormal    anteroseptaler infarkt     mÖgl. akut t abnorm in anterioren ableitungen")
        #expect(found.map(\.conceptID) == ["ABQRS", "ASMI", "STTC"])
        #expect(found[1].acuity == "acute")
        #expect(found[1].assertion == .present)
        #expect(found[2].location == "anterior")
        // Swedish: "bör övervägas" (should be considered) makes the preceding finding uncertain.
        let swedish = mentions("sinusrytm avvikande qrs(t) fÖrlopp    inferior myokardskada bÖr ÖvervÄgas")
        #expect(swedish.last?.conceptID == "INJIN")
        #expect(swedish.last?.assertion == .uncertain)
    }

    @Test func severitySkippedInsidePhrasesAndOffsetsWithUmlauts() {
        let text = "t waves are slightly inverted in i, avl. mässige st-senkung"
        let found = mentions(text)
        #expect(found.map(\.conceptID) == ["INVT", "STD_"])
        #expect(found[0].severity == "mild")
        #expect(found[0].leads == [.i, .aVL])
        #expect(found[1].severity == "moderate")
        let characters = Array(text)
        #expect(String(characters[found[1].start..<found[1].end]) == "st-senkung")
    }

    /// An acuity word inside an infarction phrase (PTB-XL ecg_id 6218: "anteroseptaler,chronischer infarkt").
    @Test func acuitySkippedInsidePhrases() {
        let found = mentions("sinusrhythmus anteroseptaler,chronischer infarkt. möglicher inferiorer alter infarkt")
        #expect(found.map(\.conceptID) == ["SR", "ASMI", "IMI"])
        #expect(found[1].acuity == "old")
        #expect(found[1].location == "anteroseptal")
        #expect(found[2].acuity == "old")
        #expect(found[2].assertion == .uncertain)
    }

    @Test func emptyAndOddInput() {
        #expect(mentions("").isEmpty)
        #expect(mentions("   4.46    ").isEmpty)
        #expect(mentions("NORMALES EKG").map(\.conceptID) == ["NORM"])
        #expect(mentions("sinusrhythmus\r\nlinksschenkelblock").map(\.start) == [0, 14])
    }
}

@Suite struct ExtractorCoordinationTests {
    func found(_ text: String) -> [String] {
        ExtractorTests.extractor.extract(text).map { "\($0.conceptID)/\($0.assertion.rawValue)/\($0.acuity ?? "-")" }
    }

    @Test func coordinatedLocationsNameBothInfarctions() {
        // PTB-XL ecg_id 955: "old anterolateral and inferior myocardial infarction".
        #expect(found("sinus arrhythmia. old anterolateral and inferior myocardial infarction.")
            == ["SARRH/present/-", "ALMI/present/old", "IMI/present/old"])
        // German device text: "mÖglicher chronischer inferiorer,anteriorer infarkt".
        #expect(found("mÖglicher chronischer inferiorer,anteriorer infarkt") == ["IMI/uncertain/old", "ASMI/uncertain/old"])
    }

    @Test func genericStatementsAndNonFindingNegationsDoNotLeak() {
        // "this is most commonly due to ischaemic heart disease" is about LBBB in general.
        #expect(found("sinus rhythm. left bundle branch block, this is most commonly due to    ischaemic heart disease.")
            == ["SR/present/-", "CLBBB/present/-"])
        // "keine p-welle erkannt" negates the P wave, not the bundle branch block after it.
        #expect(found("regelmÄssiger rhythmus, keine p-welle erkannt lagetyp normal unvollstÄndiger rechtsschenkelblock")
            == ["NAXIS/present/-", "IRBBB/present/-"])
        #expect(found("minor non-specific st segment depression in i, avl.") == ["STD_/present/-"])
    }
}

@Suite struct ExtractorQuirkTests {
    func found(_ text: String) -> [String] {
        ExtractorTests.extractor.extract(text).map { "\($0.conceptID)/\($0.assertion.rawValue)" }
    }

    /// One PTB-XL source lost `ü` as `#` (e.g. PTB-XL ecg_id 106, "mÄssige amplitudenkriterien f#r
    /// linkshypertrophie"): folded like `ü`, offsets unchanged; a `#` not followed by a letter stays a separator.
    @Test func hashBeforeALetterIsALostUmlaut() {
        let text = "sinusrhythmus mÄssige amplitudenkriterien f#r linkshypertrophie"
        let mentions = ExtractorTests.extractor.extract(text)
        #expect(mentions.map(\.conceptID) == ["SR", "VCLVH"])
        let characters = Array(text)
        #expect(mentions.last.map { String(characters[$0.start..<$0.end]) } == "mÄssige amplitudenkriterien f#r linkshypertrophie")
        #expect(found("r-s #bergang in v ableitungen nach rechts verschoben") == ["CCR/present"])
        #expect(found("#1 linksschenkelblock") == ["CLBBB/present"])
    }

    /// "cant exclude" (apostrophe dropped) and "cannot be entirely excluded" are uncertainty cues.
    @Test func informalUncertaintyCues() {
        #expect(found("poor r progression, cant exclude previous anteroseptal infarct") .contains("ASMI/uncertain"))
        #expect(found("old inferior infarct cannot be entirely excluded.") == ["IMI/uncertain"])
        // "nicht beurteilbar" (not assessable) is not the negation "nicht": the ST elevation after it stays
        // present (PTB-XL ecg_id 2868).
        #expect(found("st-senkung in v6 (wegen lsb nicht beurteilbar) st-hebung in v2") == ["STD_/present", "CLBBB/present", "STE_/present"])
    }

    /// The Swedish device's "vänster el-axel" is a left axis (like German "linkstyp"); only "extrem vänster
    /// el-axel" is left axis deviation (PTB-XL: LAFB on 3% of the former, 52% of the latter).
    @Test func swedishAxisTypes() {
        #expect(found("sinusrytm vänster el-axel") == ["SR/present", "LAXIS/present"])
        #expect(found("sinusrytm extrem vänster el-axel") == ["SR/present", "LAD/present"])
    }
}
