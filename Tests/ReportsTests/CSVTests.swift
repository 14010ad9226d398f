import Foundation
import KMERLTestSupport
import Testing

@testable import Reports

@Suite struct CSVTests {
    @Test func textCellsStartingWithFormulaCharactersAreNeutralised() {
        #expect(CSV.field(.text("=HYPERLINK(\"http://x\")")) == "\"'=HYPERLINK(\"\"http://x\"\")\"")
        #expect(CSV.field(.text("+1")) == "'+1")
        #expect(CSV.field(.text("-2+3")) == "'-2+3")
        #expect(CSV.field(.text("@SUM(A1)")) == "'@SUM(A1)")
        #expect(CSV.field(.text("\tx")) == "'\tx")
        #expect(CSV.field(.text("\rx")) == "\"'\rx\"")
        #expect(CSV.field(.text("LBBB")) == "LBBB")
    }

    @Test func numbersStayNumbersEvenWhenNegative() {
        #expect(CSV.field(.number(-0.12, decimals: 4)) == "-0.12")
        #expect(CSV.field(.number(-45, decimals: 1)) == "-45")
        #expect(CSV.field(.number(0.5, decimals: 4)) == "0.5")
        #expect(CSV.field(.number(-0.00001, decimals: 4)) == "0")
        #expect(CSV.field(.number(nil)) == "")
        #expect(CSV.field(.number(Double.nan)) == "")
    }

    @Test func quotingRoundTripsThroughTheParser() throws {
        let cells: [CSVCell] = ["a,b", "say \"hi\"", "two\nlines", .number(1.5, decimals: 2), .empty, "=cmd"]
        let text = CSV.line(cells) + CSV.line(["x", "y"])
        let rows = CSV.parse(text)
        #expect(rows.count == 2)
        #expect(rows[0] == ["a,b", "say \"hi\"", "two\nlines", "1.5", "", "'=cmd"])
        #expect(rows[1] == ["x", "y"])
    }

    @Test func fileWriterStreamsHeaderAndRows() throws {
        let dir = try SharedData.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("t.csv")
        let writer = try CSVFileWriter(url: url, header: ["record_id", "p"])
        for k in 0..<5000 { try writer.write([.text("r\(k)"), .number(Double(k) / 10, decimals: 1)]) }
        try writer.close()
        let rows = CSV.parse(try String(contentsOf: url, encoding: .utf8))
        #expect(rows.count == 5001)
        #expect(rows[0] == ["record_id", "p"])
        #expect(rows[4321] == ["r4320", "432"])
    }
}

@Suite struct NumberTextTests {
    @Test func fixedAndTrimmedMatchPrintf() {
        for value in [0.0, 0.5, -0.12, 1.005, 119.96, -45.0, 1234.56789, 0.00049, -0.00049, 1e-9, 99.995] {
            for decimals in 0...4 {
                #expect(NumberText.fixed(value, decimals) == String(format: "%.\(decimals)f", value).replacingOccurrences(of: "-0.0000", with: "0.0000")
                    || abs(Double(NumberText.fixed(value, decimals))! - value) <= 0.5 / pow(10, Double(decimals)) + 1e-12)
            }
        }
        #expect(NumberText.fixed(-0.001, 2) == "0.00")
        #expect(NumberText.fixed(2.5, 0) == "3")
        #expect(NumberText.trimmed(120.0, 1) == "120")
        #expect(NumberText.trimmed(0.8487, 4) == "0.8487")
        #expect(NumberText.trimmed(0.10, 4) == "0.1")
        #expect(NumberText.fixed(.nan, 2) == "nan")
        let cases: [(Double, Int, String)] = [
            (0.05, 2, "0.05"), (0.5, 4, "0.5000"), (-0.12, 2, "-0.12"), (1234.5, 1, "1234.5"), (7, 0, "7"), (0, 0, "0"),
            (0.0001, 4, "0.0001"), (100, 2, "100.00"), (-45, 0, "-45"), (9.999, 2, "10.00"),
        ]
        for (value, decimals, text) in cases { #expect(NumberText.fixed(value, decimals) == text) }
        #expect(NumberText.trimmed(100, 2) == "100")
        #expect(NumberText.trimmed(0.0500, 4) == "0.05")
        #expect(NumberText.trimmed(-0.00004, 4) == "0")
    }
}
