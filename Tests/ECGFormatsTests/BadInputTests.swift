import ECGCore
import Foundation
import KMERLTestSupport
import Testing

@testable import ECGFormats

/// Damaged and hostile WFDB input: typed errors naming the file and the problem, no crash.
@Suite("Bad WFDB input")
struct BadInputTests {
    /// Writes `header` as `r.hea` (and `dat` as `r.dat` when given) into a fresh folder and reads it.
    static func failure(header: String, dat: [UInt8]? = nil, file: String = "r.dat") throws -> ECGFileError {
        let dir = try SharedData.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        if let dat { try Data(dat).write(to: dir.appendingPathComponent(file)) }
        let url = dir.appendingPathComponent("r.hea")
        try header.write(to: url, atomically: true, encoding: .utf8)
        return try #require(throws: ECGFileError.self) { try ECGReader.read(url) }
    }

    static let fourSamples: [UInt8] = [1, 0, 2, 0, 3, 0, 4, 0]

    @Test("truncated signal file")
    func truncated() throws {
        let e = try Self.failure(header: "r 1 500 5\nr.dat 16 200 16 0 0 0 0 I\n", dat: Self.fourSamples)
        #expect(e.file.hasSuffix("r.dat"))
        #expect(e.problem.contains("truncated"))
        #expect(e.problem.contains("4 frames"))
    }

    @Test("a huge declared length is refused before anything is allocated")
    func hugeLength() throws {
        let e = try Self.failure(header: "r 2 500 900000000000000000\nr.dat 16 200 16 0 0 0 0 I\nr.dat 16 200 16 0 0 0 0 II\n", dat: Self.fourSamples)
        #expect(e.problem.contains("truncated"))
        let f = try Self.failure(header: "r 2 500 2\nr.dat 16x65536 200 16 0 0 0 0 I\nr.dat 16x65536 200 16 0 0 0 0 II\n", dat: Self.fourSamples)
        #expect(f.problem.contains("truncated"))
        let g = try Self.failure(header: "r 1 500 2\nr.dat 16x9999999999 200\n", dat: Self.fourSamples)
        #expect(g.problem.contains("samples per frame"))
    }

    @Test("signal files outside the record's folder are refused", arguments: ["../r.dat", "/etc/passwd", "sub/../../r.dat", "..\\r.dat"])
    func pathEscape(name: String) throws {
        let e = try Self.failure(header: "r 1 500 4\n\(name) 16 200 16 0 0 0 0 I\n", dat: Self.fourSamples)
        #expect(e.file.hasSuffix("r.hea"))
        #expect(e.problem.contains("refused") || e.problem.contains("absolute path"))
    }

    @Test("missing signal file is named")
    func missing() throws {
        let e = try Self.failure(header: "r 1 500 4\nother.dat 16 200 16 0 0 0 0 I\n")
        #expect(e.problem.contains("'other.dat' is missing"))
    }

    @Test("non-numeric fields name the line and the field")
    func nonNumeric() throws {
        #expect(try Self.failure(header: "r x 500 4\n").problem.contains("line 1: non-numeric signal count 'x'"))
        #expect(try Self.failure(header: "r 1 fast 4\nr.dat 16\n").problem.contains("invalid sampling frequency 'fast'"))
        #expect(try Self.failure(header: "r 1 500 many\nr.dat 16\n").problem.contains("non-numeric number of samples 'many'"))
        #expect(try Self.failure(header: "r 1 500 4\nr.dat 16 abc/mV\n").problem.contains("line 2 (signal 0): non-numeric ADC gain"))
        #expect(try Self.failure(header: "r 1 500 4\nr.dat 16 200(x)/mV\n").problem.contains("non-numeric baseline"))
        #expect(try Self.failure(header: "r 1 500 4\nr.dat 16 200 16 zero\n").problem.contains("non-numeric ADC zero 'zero'"))
        #expect(try Self.failure(header: "r 1 500 4\nr.dat 16q\n").problem.contains("unexpected 'q'"))
    }

    @Test("unknown, FLAC and multi-segment formats")
    func unsupported() throws {
        #expect(try Self.failure(header: "r 1 500 4\nr.dat 17 200\n", dat: Self.fourSamples).problem.contains("unknown format 17"))
        #expect(try Self.failure(header: "r 1 500 4\nr.dat 516 200\n", dat: Self.fourSamples).problem.contains("FLAC"))
        #expect(try Self.failure(header: "r/2 1 500 4\nseg1 2\nseg2 2\n").problem.contains("multi-segment"))
    }

    @Test("structural problems of the header")
    func structure() throws {
        #expect(try Self.failure(header: "").problem.contains("no record line"))
        #expect(try Self.failure(header: "# only a comment\n").problem.contains("no record line"))
        #expect(try Self.failure(header: "r 3 500 4\nr.dat 16 200\n").problem.contains("declares 3 signals but the header has 1"))
        #expect(try Self.failure(header: "r 0 500 4\n").problem.contains("no signals"))
        #expect(try Self.failure(header: "r 99999 500\n").problem.contains("exceeds"))
        #expect(try Self.failure(header: "r 1 500 4\nr.dat 16+100 200\n", dat: Self.fourSamples).problem.contains("beyond the end"))
    }

    @Test("a .mat file whose matrix is not int16 is refused")
    func matType() throws {
        var mat = [UInt8](repeating: 0, count: 24 + 8)
        mat[0] = 0  // type 0 = double
        let e = try Self.failure(header: "r 1 500 4\nr.mat 16+24 200\n", dat: mat, file: "r.mat")
        #expect(e.problem.contains("MATLAB v4 matrix type 0"))
    }

    @Test("a signal file path that is a folder")
    func folder() throws {
        let dir = try SharedData.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("r.dat"), withIntermediateDirectories: true)
        let url = dir.appendingPathComponent("r.hea")
        try "r 1 500 4\nr.dat 16 200\n".write(to: url, atomically: true, encoding: .utf8)
        let e = try #require(throws: ECGFileError.self) { try WFDBReader.read(header: url) }
        #expect(e.problem.contains("not a regular file"))
    }

    @Test("unknown file types")
    func unknownType() throws {
        let e = try #require(throws: ECGFileError.self) { try ECGReader.read(URL(fileURLWithPath: "/tmp/x.edf")) }
        #expect(e.problem.contains("unknown file type"))
    }
}
