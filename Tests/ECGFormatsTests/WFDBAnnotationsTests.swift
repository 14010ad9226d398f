import ECGCore
import ECGFormats
import Foundation
import KMERLTestSupport
import Testing

@Suite struct WFDBAnnotationsTests {
    @Test func readsMITBIH100BeatAnnotations() throws {
        let annotations = try WFDBAnnotations.read(try SharedData.url("wfdb-samples/100.atr"))
        // wfdb-python 4.3.1 reads 2,274 annotations: one rhythm label `+` (aux "(N") and 2,273 beats.
        #expect(annotations.count == 2274)
        #expect(annotations.first?.symbol == "+")
        #expect(annotations.first?.sample == 18)
        #expect(annotations.first?.aux == "(N")
        #expect(annotations.prefix(5).map(\.sample) == [18, 77, 370, 662, 946])
        let beats = annotations.filter(\.isBeat)
        #expect(beats.count == 2273)
        let counts = Dictionary(grouping: beats, by: \.symbol).mapValues(\.count)
        #expect(counts["N"] == 2239)
        #expect(counts["A"] == 33)
        #expect(counts["V"] == 1)
        #expect(zip(annotations.dropFirst(), annotations).allSatisfy { $0.sample >= $1.sample })
    }

    @Test func readsLUDBPerLeadWaves() throws {
        let annotations = try WFDBAnnotations.read(try SharedData.url("ludb/data/1.ii"))
        #expect(annotations.count == 48)
        #expect(annotations.prefix(6).map(\.sample) == [644, 662, 682, 776, 843, 878])
        #expect(annotations.prefix(6).map(\.symbol) == ["(", "N", ")", "(", "t", ")"])
        let waves = WFDBAnnotations.waves(annotations)
        #expect(waves.count == 16)
        #expect(waves[0] == AnnotatedWave(kind: "N", onset: 644, peak: 662, offset: 682))
        #expect(waves[2] == AnnotatedWave(kind: "p", onset: 1250, peak: 1278, offset: 1302))
        #expect(waves.last == AnnotatedWave(kind: "N", onset: 3950, peak: 3969, offset: 3996))
    }

    @Test func rejectsTruncatedFiles() throws {
        // An AUX announcing 10 bytes with only 2 present.
        let bytes: [UInt8] = [0x05, 0x04, 0x0A, 0xFC, 0x41, 0x42]
        #expect(throws: ECGFileError.self) { try WFDBAnnotations.parse(Data(bytes), file: "broken.atr") }
        // A SKIP interval decodes as a signed 32-bit number, high word first.
        let skip: [UInt8] = [0x00, 0xEC, 0x01, 0x00, 0x00, 0x00, 0x05, 0x04, 0x00, 0x00]
        let parsed = try WFDBAnnotations.parse(Data(skip))
        #expect(parsed.map(\.sample) == [65536 + 5])
        #expect(parsed.map(\.symbol) == ["N"])
    }
}
