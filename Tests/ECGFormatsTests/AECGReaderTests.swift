import ECGCore
import Foundation
import KMERLTestSupport
import Testing

@testable import ECGFormats

@Suite("HL7 aECG reader")
struct AECGReaderTests {
    @Test("the HL7 reference example: 12 leads, 500 Hz, 10 s, real sample values")
    func example() throws {
        let url = try SharedData.url("aecg/Example_aECG.xml")
        let record = try ECGReader.read(url)
        #expect(record.sourceFormat == .hl7aECG)
        #expect(record.id == "Example_aECG")
        #expect(record.leads.count == 12)
        #expect(record.samplingRate == 500)
        #expect(record.sampleCount == 5000)
        #expect(record.duration == 10)
        #expect(Set(record.standardLeads) == Set(StandardLead.allCases))
        let leadI = try #require(record.signal(for: .i))
        #expect(leadI.writtenName == "MDC_ECG_LEAD_I")
        #expect(leadI.units == "uV")
        // digits −2 −2 −2 −2 −3 × scale 2.5 µV
        #expect(Array(leadI.samples.prefix(5)) == [-5, -5, -5, -5, -7.5])
        #expect(leadI.samples.reduce(0, +) == -4921 * 2.5)
        #expect(leadI.millivoltsPerUnit == 0.001)
        let v2 = try #require(record.signal(for: .v2))
        #expect(Array(v2.samples.prefix(3)) == [137.5, 132.5, 127.5])
        #expect(try #require(record.signal(for: .aVR)).samples.last == 25)
        #expect(record.startTimeText == "20021122091000.000")
        // 2002-11-22T09:10:00Z
        #expect(record.startTime == Date(timeIntervalSince1970: 1_037_956_200))
        #expect(record.warnings.isEmpty)
    }

    @Test("minimal example: one lead of 13 samples")
    func minimal() throws {
        let record = try AECGReader.read(try SharedData.url("aecg/minimum_aecg.xml"))
        #expect(record.leads.map(\.lead) == [.standard(.ii)])
        #expect(record.sampleCount == 13)
        #expect(record.leads[0].samples.reduce(0, +) == -56 * 2.5)
    }

    @Test("every shared aECG file reads", arguments: [
        "Example_aECG.xml", "minimum_aecg.xml", "minimum_aecg_effectiveTime_high.xml", "minimum_aecg_effectiveTime_interval.xml",
        "minimum_aecg_effectiveTime_low.xml", "minimum_aecg_nouuid.xml", "subject1_0.xml",
    ])
    func allFiles(name: String) throws {
        let record = try AECGReader.read(try SharedData.url("aecg/\(name)"))
        #expect(record.samplingRate == 500)
        #expect(!record.leads.isEmpty)
    }

    static func hostile(_ body: String) throws -> ECGFileError {
        let bytes = Array(body.utf8)
        return try #require(throws: ECGFileError.self) { try AECGReader.read(bytes: bytes, file: "hostile.xml", id: "h") }
    }

    @Test("external entities are refused")
    func externalEntity() throws {
        let error = try Self.hostile(
            """
            <?xml version="1.0"?>
            <!DOCTYPE AnnotatedECG [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
            <AnnotatedECG xmlns="urn:hl7-org:v3"><id root="&xxe;"/></AnnotatedECG>
            """)
        #expect(error.file == "hostile.xml")
        #expect(error.problem.contains("DTD"))
    }

    @Test("external DTDs are refused")
    func externalDTD() throws {
        let error = try Self.hostile(
            """
            <?xml version="1.0"?>
            <!DOCTYPE AnnotatedECG SYSTEM "http://example.invalid/aecg.dtd">
            <AnnotatedECG xmlns="urn:hl7-org:v3"/>
            """)
        #expect(error.problem.contains("DTD"))
    }

    @Test("billion laughs is refused without expansion")
    func billionLaughs() throws {
        var dtd = "<!ENTITY lol \"lol\">"
        for k in 1...9 { dtd += "<!ENTITY lol\(k) \"" + String(repeating: "&lol\(k == 1 ? "" : String(k - 1));", count: 10) + "\">" }
        let error = try Self.hostile(
            "<?xml version=\"1.0\"?><!DOCTYPE AnnotatedECG [\(dtd)]><AnnotatedECG xmlns=\"urn:hl7-org:v3\">&lol9;</AnnotatedECG>")
        #expect(error.problem.contains("DTD"))
    }

    @Test("malformed and foreign XML give typed errors")
    func malformed() throws {
        #expect(try Self.hostile("<AnnotatedECG xmlns=\"urn:hl7-org:v3\"><component>").problem.contains("not well-formed"))
        #expect(try Self.hostile("<root/>").problem.contains("not an HL7 aECG"))
        #expect(try Self.hostile("<AnnotatedECG xmlns=\"urn:hl7-org:v3\"/>").problem.contains("no rhythm waveforms"))
        #expect(try Self.hostile("").problem.contains("not well-formed"))
    }

    @Test("non-numeric digits name the lead")
    func badDigits() throws {
        let url = try SharedData.url("aecg/minimum_aecg.xml")
        let text = try String(contentsOf: url, encoding: .utf8).replacingOccurrences(of: "-2 -2 -2 -2 -3", with: "-2 x -2 -2 -3")
        let error = try Self.hostile(text)
        #expect(error.problem.contains("MDC_ECG_LEAD_II"))
        #expect(error.problem.contains("'x'"))
    }
}
