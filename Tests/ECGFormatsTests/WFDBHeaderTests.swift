import ECGCore
import Foundation
import KMERLTestSupport
import Testing

@testable import ECGFormats

@Suite("WFDB header parser")
struct WFDBHeaderTests {
    @Test("record line variants: counter frequency, base counter, base time without date")
    func recordLine() throws {
        let h = try WFDBHeader.parse("rec 2 360/720(100.5) 650000 19:46:25.757\r\nrec.dat 212\r\nrec.dat 212\r\n", file: "t.hea")
        #expect(h.recordName == "rec")
        #expect(h.signalCount == 2)
        #expect(h.samplingFrequency == 360)
        #expect(h.counterFrequency == 720)
        #expect(h.baseCounter == 100.5)
        #expect(h.frameCount == 650_000)
        #expect(h.baseTime == "19:46:25.757")
        #expect(h.baseDate == nil)
        #expect(h.startDate == nil)
        let minimal = try WFDBHeader.parse("m 1\nm.dat 16\n", file: "t.hea")
        #expect(minimal.samplingFrequency == 250)
        #expect(minimal.frameCount == nil)
    }

    @Test("signal line defaults follow WFDB: gain 0 → 200, baseline = ADC zero, units mV, initial value = ADC zero")
    func defaults() throws {
        let h = try WFDBHeader.parse("r 3 500 10\nr.dat 16\nr.dat 16 0 12 1024\nr.dat 16 100(-3)/uV 16 5 7 123 0 lead V1 extra\n", file: "t.hea")
        let a = h.signals[0]
        #expect(a.gain == 200 && a.baseline == 0 && a.units == "mV" && a.adcResolution == nil && a.checksum == nil && a.description == "")
        let b = h.signals[1]
        #expect(b.gain == 200 && b.baseline == 1024 && b.adcZero == 1024 && b.initialValue == 1024 && b.adcResolution == 12)
        let c = h.signals[2]
        #expect(c.gain == 100 && c.baseline == -3 && c.units == "uV" && c.adcZero == 5 && c.initialValue == 7 && c.checksum == 123)
        #expect(c.blockSize == 0)
        #expect(c.description == "lead V1 extra")
    }

    @Test("format field: samples per frame, skew, byte offset")
    func formatField() throws {
        let h = try WFDBHeader.parse("r 2 500 10\nr.mat 16x4:3+24 1.052e+04/mV\nr.mat 16+24 12.84(-1605)/mmHg\n", file: "t.hea")
        #expect(h.signals[0].format == 16)
        #expect(h.signals[0].samplesPerFrame == 4)
        #expect(h.signals[0].skew == 3)
        #expect(h.signals[0].byteOffset == 24)
        #expect(h.signals[0].gain == 10520)
        #expect(h.signals[1].gain == 12.84)
        #expect(h.signals[1].baseline == -1605)
        #expect(h.signals[1].units == "mmHg")
    }

    @Test("comments anywhere, '#' and spaces stripped like wfdb-python")
    func comments() throws {
        let url = try SharedData.url("wfdb-samples/100.hea")
        let h = try WFDBHeader(contentsOf: url)
        #expect(h.comments == ["unnecessary comment", "69 M 1085 1629 x1", "Aldomet, Inderal"])
        #expect(h.signals.map(\.description) == ["MLII", "V5"])
        let ludb = try WFDBHeader(contentsOf: try SharedData.url("ludb/data/1.hea"))
        #expect(ludb.comments.first == "<age>: 51")
        #expect(ludb.comments.contains("Electric axis of the heart: left axis deviation."))
    }

    @Test("signal file paths stay in the record's folder")
    func signalPaths() throws {
        #expect(try WFDBHeader.signalFilePath("r.dat", headerPath: "/data/x/r.hea") == "/data/x/r.dat")
        #expect(try WFDBHeader.signalFilePath("sub/r.dat", headerPath: "/data/x/r.hea") == "/data/x/sub/r.dat")
        for bad in ["../r.dat", "/etc/passwd", "a/../../r.dat", "C:\\r.dat", "\\\\server\\r.dat", ""] {
            #expect(throws: ECGFileError.self, "\(bad)") { try WFDBHeader.signalFilePath(bad, headerPath: "/data/x/r.hea") }
        }
    }
}
