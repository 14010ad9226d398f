import ECGCore
import Foundation
import KMERLTestSupport
import Testing

@testable import ECGFormats

/// One record of an `expected.json` file (computed by wfdb-python 4.3.1).
struct ExpectedRecord: Decodable {
    let record: String
    let fs: Double
    let sig_len: Int
    let n_sig: Int
    let sig_name: [String]
    let units: [String]
    let fmt: [String]
    let adc_gain: [Double]
    let baseline: [Int]
    let first10: [[Int64]]
    let last3: [[Int64]]
    let sum: [Int64]
    let sumsq: [Int64]
    let comments: [String]
}

func loadExpected(_ relative: String) throws -> [String: ExpectedRecord] {
    let data = try Data(contentsOf: try SharedData.url(relative))
    return try JSONDecoder().decode([String: ExpectedRecord].self, from: data)
}

/// Asserts that `record` matches the reference values exactly.
func expectConformance(_ record: ECGRecord, _ e: ExpectedRecord) {
    #expect(record.id == e.record)
    #expect(record.samplingRate == e.fs)
    #expect(record.sampleCount == e.sig_len)
    #expect(record.leads.count == e.n_sig)
    #expect(record.comments == e.comments)
    for (c, lead) in record.leads.enumerated() where c < e.n_sig {
        let name = e.record + " signal \(c)"
        #expect(lead.writtenName == e.sig_name[c], "\(name)")
        #expect(lead.units == e.units[c], "\(name)")
        #expect(lead.samples.count == e.sig_len, "\(name)")
        guard let adc = lead.adc else {
            Issue.record("\(name): no ADC info")
            continue
        }
        #expect(adc.format == e.fmt[c], "\(name)")
        #expect(adc.gain == e.adc_gain[c], "\(name)")
        #expect(adc.baseline == e.baseline[c], "\(name)")
        #expect(adc.first.map(Int64.init) == e.first10[c], "\(name)")
        #expect(adc.last.map(Int64.init) == e.last3[c], "\(name)")
        #expect(adc.sum == e.sum[c], "\(name)")
        #expect(adc.sumOfSquares == e.sumsq[c], "\(name)")
    }
}

@Suite("WFDB reader")
struct WFDBReaderTests {
    static let wfdbSampleNames = [
        "100", "100_3chan", "100skew", "03700181", "binformats", "310derive", "311derive", "3000003_0003", "a103l", "p10143",
        "s0010_re", "test01_00s", "test01_00s_skew", "v102s",
    ]

    @Test("every record of wfdb-samples/expected.json matches wfdb-python exactly", arguments: wfdbSampleNames)
    func wfdbSamplesConformance(name: String) throws {
        let expected = try loadExpected("wfdb-samples/expected.json")
        let e = try #require(expected[name])
        let record = try WFDBReader.read(header: try SharedData.url("wfdb-samples/\(name).hea"))
        expectConformance(record, e)
    }

    @Test("the conformance list covers every non-FLAC record of expected.json")
    func conformanceCoversAll() throws {
        let expected = try loadExpected("wfdb-samples/expected.json")
        #expect(Set(expected.keys).subtracting(Self.wfdbSampleNames) == ["flacformats"])
    }

    @Test("every CinC 2021 .mat record matches wfdb-python exactly")
    func cincConformance() throws {
        let expected = try loadExpected("cinc2021/expected.json")
        #expect(expected.count == 10)
        for (name, e) in expected {
            let record = try WFDBReader.read(header: try SharedData.url("cinc2021/records/\(name).hea"))
            #expect(record.sourceFormat == .wfdbMat)
            #expect(record.warnings.isEmpty, "\(name): \(record.warnings)")
            expectConformance(record, e)
        }
    }

    @Test("FLAC formats answer with a clear unsupported error")
    func flacUnsupported() throws {
        let url = try SharedData.url("wfdb-samples/flacformats.hea")
        let error = try #require(throws: ECGFileError.self) { try WFDBReader.read(header: url) }
        #expect(error.problem.contains("FLAC"))
        #expect(error.file == url.path)
    }

    @Test("physical values, NaN for invalid samples, lead names and comments")
    func physicalValues() throws {
        let record = try WFDBReader.read(header: try SharedData.url("wfdb-samples/100.hea"))
        #expect(record.leads.map(\.lead) == [.standard(.ii), .standard(.v5)])
        // (995 − 1024) / 200
        #expect(record.leads[0].samples[0] == Float(-29) / 200)
        #expect(record.startTime == nil)
        let skewed = try WFDBReader.read(header: try SharedData.url("wfdb-samples/100skew.hea"))
        #expect(skewed.leads[1].samples.suffix(3).allSatisfy { $0.isNaN })
        #expect(!skewed.leads[1].samples[0].isNaN)
        #expect(skewed.warnings.isEmpty)
    }

    @Test("record without a length reads the whole signal file")
    func noLength() throws {
        let record = try WFDBReader.read(header: try SharedData.url("wfdb-samples/100-no-len.hea"))
        #expect(record.sampleCount == 650_000)
        #expect(record.id == "100-no-len")
    }

    @Test("base time and date become the start time")
    func startTime() throws {
        let record = try WFDBReader.read(header: try SharedData.url("wfdb-samples/03700181.hea"))
        #expect(record.startTimeText == "17:27:45 15/08/1994")
        // 1994-08-15T17:27:45Z
        #expect(record.startTime == Date(timeIntervalSince1970: 776_971_665))
    }

    @Test("LUDB: 12 lower-case leads at 500 Hz in mV, with diagnoses in comments")
    func ludb() throws {
        let record = try WFDBReader.read(header: try SharedData.url("ludb/data/1.hea"))
        #expect(record.samplingRate == 500)
        #expect(record.sampleCount == 5000)
        #expect(record.standardLeads == StandardLead.allCases)
        #expect(record.leads[0].writtenName == "i")
        #expect(record.leads[0].adc?.baseline == 6)
        #expect(record.leads[0].adc?.gain == 1716)
        #expect(record.comments.contains("Rhythm: Sinus bradycardia."))
        #expect(record.warnings.isEmpty)
        // first digital sample of lead i is the initial value −120 → (−120 − 6) / 1716 mV
        #expect(record.leads[0].adc?.first.first == -120)
        #expect(abs(record.leads[0].samples[0] - Float(-126) / 1716) < 1e-7)
    }

    @Test("PTB-XL 100 Hz record in normalized units")
    func ptbxl() throws {
        let record = try WFDBReader.read(header: try SharedData.url("ptbxl/records100/00000/00024_lr.hea"))
        #expect(record.id == "00024_lr")
        #expect(record.samplingRate == 100)
        #expect(record.sampleCount == 1000)
        #expect(record.leads.count == 12)
        #expect(record.warnings.isEmpty)
    }

    @Test("checksum mismatch is a warning, not an error")
    func checksumMismatch() throws {
        let dir = try SharedData.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let src = try SharedData.url("wfdb-samples/test01_00s.dat")
        try FileManager.default.copyItem(at: src, to: dir.appendingPathComponent("t.dat"))
        let header = """
            t 4 500 4000
            t.dat 16 100/mV 16 0 10 115 0 ECG 1
            t.dat 16 100/mV 16 0 -8 941 0 ECG 2
            t.dat 16 100/mV 16 0 -57 -119 0 ECG 3
            t.dat 16 100/mV 16 0 -66 -401 0 ECG 4
            """
        let url = dir.appendingPathComponent("t.hea")
        try header.write(to: url, atomically: true, encoding: .utf8)
        let record = try WFDBReader.read(header: url)
        #expect(record.warnings.count == 1)
        #expect(record.warnings.first?.contains("checksum mismatch") == true)
        #expect(record.warnings.first?.contains("ECG 1") == true)
    }
}
