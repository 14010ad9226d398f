import Foundation
import KMERLTestSupport
import Testing

/// `kmerl-kb query` run as a process against a base imported from real PTB-XL reports.
@Suite struct QueryCommandTests {
    /// In the first 20 PTB-XL reports sinus bradycardia is written in ecg_id 2 and 12
    /// ("sinusbradykardie sonst normales ekg"), both also normal ECGs.
    @Test func queryByLabelAsJSON() throws {
        let directory = try KMERLKBProcess.ptbxlSlice()
        #expect(try KMERLKBProcess.run(["import", "ptbxl-slice.csv", "--db", "kb.sqlite"], in: directory).status == 0)
        let run = try KMERLKBProcess.run(["query", "sinus bradycardia", "--db", "kb.sqlite", "--json"], in: directory)
        #expect(run.status == 0, "\(run.stderr)")
        let result = try run.json()
        let concept = try #require(result["concept"] as? [String: Any])
        #expect(concept["id"] as? String == "SBRAD")
        #expect(concept["category"] as? String == "rhythm")
        let codes = (concept["codes"] as? [[String: String]] ?? []).map { "\($0["system"] ?? ""):\($0["code"] ?? "")" }
        #expect(Set(codes) == ["SNOMED:426177001", "SCP:SBRAD", "AHA:22"])
        let synonyms = (concept["synonyms"] as? [[String: Any]] ?? []).compactMap { $0["text"] as? String }
        #expect(synonyms.contains("sinusbradykardie"))

        let byAssertion = (result["reportsByAssertion"] as? [[String: Any]] ?? []).reduce(into: [String: Int]()) {
            $0[$1["name"] as? String ?? ""] = $1["count"] as? Int
        }
        #expect(byAssertion == ["present": 2, "negated": 0, "uncertain": 0, "historical": 0])
        let excerpts = result["excerpts"] as? [[String: Any]] ?? []
        #expect(Set(excerpts.compactMap { $0["reportID"] as? String }) == ["2", "12"])
        #expect(excerpts.allSatisfy { ($0["marked"] as? String)?.contains("[[sinusbradykardie]]") == true })
        let cooccurring = result["cooccurring"] as? [[String: Any]] ?? []
        #expect(cooccurring.first?["conceptID"] as? String == "NORM")
        #expect(cooccurring.first?["reports"] as? Int == 2)

        // The same concept by code and by German synonym.
        for text in ["SBRAD", "426177001", "Sinusbradykardie"] {
            let again = try KMERLKBProcess.run(["query", text, "--db", "kb.sqlite", "--json"], in: directory)
            #expect(again.status == 0, "\(text): \(again.stderr)")
            #expect((try again.json()["concept"] as? [String: Any])?["id"] as? String == "SBRAD", "\(text)")
        }
    }

    @Test func nearMissSuggestsAndUnknownFails() throws {
        let directory = try SharedData.temporaryDirectory()
        let near = try KMERLKBProcess.run(["query", "sinus bradykardia", "--db", "kb.sqlite"], in: directory)
        #expect(near.status != 0)
        #expect(near.stderr.contains("did you mean: sinus bradycardia (SBRAD"), "\(near.stderr)")
        let unknown = try KMERLKBProcess.run(["query", "qwertyuiop", "--db", "kb.sqlite"], in: directory)
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("no concept matches 'qwertyuiop'"))
    }
}
