import ECGCore
import Foundation
import KMERLTestSupport
import Testing

@testable import ECGFormats

@Suite("CSV reader")
struct ECGCSVReaderTests {
    static func read(_ text: String, fs: Double? = nil) throws -> ECGRecord {
        try ECGCSVReader.read(bytes: Array(text.utf8), file: "t.csv", id: "t", samplingRate: fs)
    }

    static func failure(_ text: String, fs: Double? = nil) throws -> ECGFileError {
        try #require(throws: ECGFileError.self) { try read(text, fs: fs) }
    }

    @Test("LUDB leads I and II written as CSV with a time column read back exactly")
    func roundTripFromLUDB() throws {
        let source = try WFDBReader.read(header: try SharedData.url("ludb/data/1.hea"))
        let i = source.leads[0].samples
        let ii = source.leads[1].samples
        var text = "time,i,ii\n"
        for k in 0..<i.count { text += "\(Double(k) / 500),\(i[k]),\(ii[k])\n" }
        let dir = try SharedData.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("ludb1.csv")
        try text.write(to: url, atomically: true, encoding: .utf8)
        let record = try ECGReader.read(url)
        #expect(record.id == "ludb1")
        #expect(record.sourceFormat == .csv)
        #expect(abs(record.samplingRate - 500) < 1e-9)
        #expect(record.leads.map(\.lead) == [.standard(.i), .standard(.ii)])
        #expect(record.leads[0].samples == i)
        #expect(record.leads[1].samples == ii)
        #expect(record.leads[0].units == "mV")
        #expect(record.warnings.isEmpty)
        // The caller's rate wins over the time column.
        #expect(try ECGReader.read(url, options: ReadOptions(csvSamplingRate: 250)).samplingRate == 250)
    }

    @Test("semicolons, decimal commas, aliases, units in the header, missing cells")
    func semicolons() throws {
        let record = try Self.read("\u{FEFF}\"AVR\";MLII (uV);V1 [mV]\n0,5;100;1\n-0,25;;2\n", fs: 250)
        #expect(record.leads.map(\.lead) == [.standard(.aVR), .standard(.ii), .standard(.v1)])
        #expect(record.leads[0].samples == [0.5, -0.25])
        #expect(record.leads[1].units == "uV")
        #expect(record.leads[1].samples[0] == 100)
        #expect(record.leads[1].samples[1].isNaN)
        #expect(record.leads[2].units == "mV")
        #expect(record.samplingRate == 250)
    }

    @Test("a millisecond time column gives the rate; one lead is enough")
    func milliseconds() throws {
        let record = try Self.read("time_ms,V5\n0,1\n4,2\n8,3\n12,4\n")
        #expect(record.samplingRate == 250)
        #expect(record.leads.count == 1)
        #expect(record.sampleCount == 4)
    }

    @Test("bad CSV gives typed errors naming the problem")
    func badInput() throws {
        #expect(try Self.failure("").problem.contains("empty"))
        #expect(try Self.failure("\n\n").problem.contains("empty"))
        #expect(try Self.failure("I,II\n", fs: 500).problem.contains("no data rows"))
        #expect(try Self.failure("I,II\n1,2\n3\n", fs: 500).problem.contains("line 3: 1 fields"))
        #expect(try Self.failure("I,II\n1,abc\n", fs: 500).problem.contains("non-numeric value 'abc'"))
        #expect(try Self.failure("I,II\n1,2\n").problem.contains("--fs"))
        #expect(try Self.failure("time,I\n0,1\n0,2\n").problem.contains("does not increase"))
        #expect(try Self.failure("I\n1\n", fs: -1).problem.contains("positive"))
        #expect(try Self.failure("time\n0\n").problem.contains("no lead columns"))
    }
}
