import ECGCore
import Foundation
import Testing

@testable import Knowledge

@Suite struct KnowledgeStoreExportTests {
    @Test func mentionsCSVHasTheExactHeaderAndQuotedRows() throws {
        let store = try HandBuilt.store()
        let url = try temporaryFile(
            "r.csv", "id,text\n\"p,1\",\"Inferior infarction in II, III, aVF marked\"\np2,no left bundle branch block\n")
        _ = try ReportImporter(store: store, idColumn: "id", textColumn: "text") { HandBuilt.extract($0) }.importFile(url)
        var data = Data()
        let rows = try store.exportMentionsCSV { data.append($0) }
        #expect(rows == 2)
        let text = String(decoding: data, as: UTF8.self)
        #expect(
            text == """
                report_id,concept_id,label,codes,assertion,leads,severity,acuity,location
                "p,1",IMI,Inferior myocardial infarction,SNOMED:704997005;SCP:IMI,present,II;III;aVF,marked,,
                p2,CLBBB,Complete left bundle branch block,SNOMED:164909002;SCP:CLBBB;PTBXL-CLASS:CD,negated,,,,

                """)
    }

    @Test func csvFieldEscaping() {
        #expect(CSVField.escape("plain") == "plain")
        #expect(CSVField.escape("a,b") == "\"a,b\"")
        #expect(CSVField.escape("say \"hi\"") == "\"say \"\"hi\"\"\"")
        #expect(CSVField.escape("two\nlines") == "\"two\nlines\"")
    }
}
