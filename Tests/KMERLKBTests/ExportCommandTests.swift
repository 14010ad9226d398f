import Foundation
import KMERLTestSupport
import Testing

/// `kmerl-kb export mentions --csv` run as a process.
@Suite struct ExportCommandTests {
    @Test func exportsOneRowPerMentionWithTheDocumentedHeader() throws {
        let directory = try KMERLKBProcess.ptbxlSlice()
        #expect(try KMERLKBProcess.run(["import", "ptbxl-slice.csv", "--db", "kb.sqlite"], in: directory).status == 0)
        let run = try KMERLKBProcess.run(["export", "mentions", "--csv", "--db", "kb.sqlite"], in: directory)
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "report_id,concept_id,label,codes,assertion,leads,severity,acuity,location")
        // ecg_id 1: "sinusrhythmus periphere niederspannung"; ecg_id 2: "sinusbradykardie sonst normales ekg".
        #expect(lines.contains("1,SR,sinus rhythm,SNOMED:426783006;SCP:SR;AHA:20,present,,,,"))
        #expect(lines.contains("1,LVOLTL,lower voltage QRS in limb lead,SNOMED:251147008,present,,,,"))
        #expect(lines.contains("2,SBRAD,sinus bradycardia,SNOMED:426177001;SCP:SBRAD;AHA:22,present,,,,"))
        #expect(lines.contains("2,NORM,normal ECG,SCP:NORM;AHA:1;PTBXL-CLASS:NORM;PTBXL-SUBCLASS:NORM,present,,,,"))
        #expect(lines.dropFirst().allSatisfy { $0.split(separator: ",", omittingEmptySubsequences: false).count >= 9 })

        let stats = try KMERLKBProcess.run(["stats", "--db", "kb.sqlite", "--json"], in: directory).json()
        #expect(lines.count - 1 == stats["mentions"] as? Int)
        let reportIDs = Set(lines.dropFirst().compactMap { $0.split(separator: ",").first.map(String.init) })
        let sliceIDs = try KMERLKBProcess.sliceIDs(in: directory)
        #expect(sliceIDs.count == 20)
        #expect(reportIDs == Set(sliceIDs))  // each of these 20 reports names at least its rhythm

        // --out writes the same text to a file.
        let out = directory.appendingPathComponent("mentions.csv")
        let written = try KMERLKBProcess.run(["export", "mentions", "--csv", "--db", "kb.sqlite", "--out", out.path], in: directory)
        #expect(written.status == 0, "\(written.stderr)")
        #expect(try String(contentsOf: out, encoding: .utf8) == run.stdout)
    }
}
