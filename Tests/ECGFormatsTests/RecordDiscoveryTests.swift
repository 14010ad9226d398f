import ECGCore
import Foundation
import KMERLTestSupport
import Testing

@testable import ECGFormats

@Suite("Record discovery")
struct RecordDiscoveryTests {
    @Test("a mixed folder: WFDB with annotation files, .mat, aECG, CSV, missing signal file, other files")
    func mixedFolder() throws {
        let dir = try SharedData.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let fm = FileManager.default
        let sub = dir.appendingPathComponent("nested/deeper")
        try fm.createDirectory(at: sub, withIntermediateDirectories: true)
        for name in ["1.hea", "1.dat", "1.i", "1.avr"] {
            try fm.copyItem(at: try SharedData.url("ludb/data/\(name)"), to: dir.appendingPathComponent(name))
        }
        for name in ["E07500.hea", "E07500.mat"] {
            try fm.copyItem(at: try SharedData.url("cinc2021/records/\(name)"), to: sub.appendingPathComponent(name))
        }
        try fm.copyItem(at: try SharedData.url("aecg/minimum_aecg.xml"), to: dir.appendingPathComponent("ecg.xml"))
        try "<note/>".write(to: dir.appendingPathComponent("other.xml"), atomically: true, encoding: .utf8)
        try "I,II\n1,2\n".write(to: dir.appendingPathComponent("two.csv"), atomically: true, encoding: .utf8)
        try "x 1 500 10\nx.dat 16 200 16 0 0 0 0 I\n".write(to: dir.appendingPathComponent("x.hea"), atomically: true, encoding: .utf8)
        try "y 1 500 10\n../y.dat 16 200 16 0 0 0 0 I\n".write(to: dir.appendingPathComponent("y.hea"), atomically: true, encoding: .utf8)
        try "notes".write(to: dir.appendingPathComponent("README.txt"), atomically: true, encoding: .utf8)
        try Data([1, 2]).write(to: dir.appendingPathComponent("orphan.dat"))

        let result = RecordDiscovery.discover([dir, dir.appendingPathComponent("1.hea"), dir.appendingPathComponent("missing")])
        #expect(result.records.map(\.id) == ["1", "ecg", "E07500", "two"])
        #expect(result.records.map(\.format) == [.wfdb, .hl7aECG, .wfdbMat, .csv])
        #expect(result.records[0].files.map(\.lastPathComponent).sorted() == ["1.avr", "1.dat", "1.hea", "1.i"])
        #expect(result.records[0].primary.lastPathComponent == "1.hea")
        #expect(result.records[2].files.map(\.lastPathComponent) == ["E07500.hea", "E07500.mat"])
        let reasons = Dictionary(uniqueKeysWithValues: result.skipped.map { (URL(fileURLWithPath: $0.file).lastPathComponent, $0.message) })
        #expect(reasons["x.hea"]?.contains("'x.dat' is missing") == true)
        #expect(reasons["y.hea"]?.contains("leaves the record's folder") == true)
        #expect(reasons["other.xml"]?.contains("not an HL7 aECG") == true)
        #expect(reasons["README.txt"]?.contains("not an ECG record file") == true)
        #expect(reasons["orphan.dat"]?.contains("without a WFDB header") == true)
        #expect(reasons["missing"]?.contains("no such file") == true)
        #expect(result.skipped.count == 6)
        // Every discovered record reads.
        for record in result.records {
            _ = try ECGReader.read(record.primary, options: ReadOptions(csvSamplingRate: 500))
        }
    }

    @Test("a signal file named directly stands for its record")
    func signalFileArgument() throws {
        let result = RecordDiscovery.discover([try SharedData.url("cinc2021/records/E07501.mat")])
        #expect(result.records.map(\.id) == ["E07501"])
        #expect(result.records.first?.primary.lastPathComponent == "E07501.hea")
        #expect(result.skipped.isEmpty)
    }

    @Test("discovery of the PTB-XL folder finds all 1,625 records, sorted")
    func ptbxl() throws {
        let result = RecordDiscovery.discover([try SharedData.url("ptbxl/records100")])
        #expect(result.records.count == 1625)
        #expect(result.skipped.isEmpty)
        #expect(result.records.map(\.primary.path) == result.records.map(\.primary.path).sorted())
        #expect(result.records.allSatisfy { $0.files.count == 2 })
    }
}

@Suite("Record summary")
struct RecordSummaryTests {
    @Test("inspect JSON carries the documented keys and real values")
    func json() throws {
        let record = try WFDBReader.read(header: try SharedData.url("wfdb-samples/100.hea"))
        let summary = RecordSummary(record: record)
        #expect(summary.id == "100")
        #expect(summary.format == "wfdb")
        #expect(summary.fs == 360)
        #expect(summary.samples == 650_000)
        #expect(abs(summary.seconds - 650_000.0 / 360) < 1e-9)
        let csv = try ECGCSVReader.read(bytes: Array("I\n1\n2\n".utf8), file: "c.csv", id: "c", samplingRate: 100)
        let text = RecordSummary.jsonArray([summary, RecordSummary(record: csv)])
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]])
        #expect(parsed.count == 2)
        #expect(Set(parsed[0].keys) == ["id", "format", "fs", "samples", "seconds", "warnings", "leads"])
        let lead = try #require((parsed[0]["leads"] as? [[String: Any]])?.first)
        #expect(
            Set(lead.keys) == [
                "name", "writtenName", "units", "gain", "baseline", "samples", "min", "max", "adcSum", "adcSumSquares", "adcFirst",
            ])
        #expect(lead["name"] as? String == "II")
        #expect(lead["writtenName"] as? String == "MLII")
        #expect((lead["adcSum"] as? NSNumber)?.int64Value == 625_781_133)
        #expect((lead["adcFirst"] as? [Int])?.prefix(3) == [995, 995, 995])
        let csvLead = try #require((parsed[1]["leads"] as? [[String: Any]])?.first)
        #expect(csvLead["gain"] is NSNull)
        #expect(csvLead["adcSum"] == nil)
        #expect((csvLead["max"] as? Double) == 2)
    }
}
