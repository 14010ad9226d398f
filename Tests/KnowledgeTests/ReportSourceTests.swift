import Foundation
import KMERLTestSupport
import Testing

@testable import Knowledge

@Suite struct ReportSourceTests {
    func rows(_ source: ReportSource) throws -> [SourceRow] {
        var rows: [SourceRow] = []
        while let row = try source.next() { rows.append(row) }
        return rows
    }

    @Test func detectsPTBXLAndReadsEveryRow() throws {
        let source = try ReportSource(url: try SharedData.url("ptbxl/ptbxl_database.csv"))
        #expect(source.format == .ptbxl)
        var reports = 0
        var skipped: [SkippedRow] = []
        var first: SourceReport?
        while let row = try source.next() {
            switch row {
            case .report(let report):
                reports += 1
                if first == nil { first = report }
            case .skipped(let skip): skipped.append(skip)
            }
        }
        #expect(reports == 19_633)
        #expect(first?.externalID == "1")
        #expect(first?.text == "sinusrhythmus periphere niederspannung")
        // ecg_id 443 has a report of one space: skipped, with its line.
        #expect(skipped.count == 1)
        #expect(skipped.first?.line == 385)
        #expect(skipped.first?.reason.contains("443") == true)
    }

    @Test func readsTheRealMIMICRowJoiningReportLinesInOrder() throws {
        let source = try ReportSource(url: try SharedData.url("mimic-iv-ecg-format/machine_measurements.csv"))
        #expect(source.format == .mimic)
        let rows = try rows(source)
        #expect(rows == [
            .report(SourceReport(
                externalID: "40689238", text: "Sinus rhythm. Possible right atrial abnormality. Borderline ECG", line: 2, row: 1)),
        ])
    }

    @Test func quotedFieldsWithCommasQuotesAndLineBreaks() throws {
        let url = try temporaryFile(
            "generic.csv",
            "id,note,text\r\n7,\"a, b\",\"Sinus rhythm, \"\"marked\"\"\nleft bundle branch block\"\r\n8,x,plain text\n")
        let source = try ReportSource(url: url, idColumn: "id", textColumn: "text")
        #expect(source.format == .generic)
        let rows = try rows(source)
        #expect(rows == [
            .report(SourceReport(externalID: "7", text: "Sinus rhythm, \"marked\"\nleft bundle branch block", line: 2, row: 1)),
            .report(SourceReport(externalID: "8", text: "plain text", line: 4, row: 2)),
        ])
    }

    @Test func recordsSpanningChunkBoundariesAreReadWhole() throws {
        // A tiny chunk size forces every record, quote and CRLF across buffer refills.
        var text = "ecg_id,report\r\n"
        var expected: [String] = []
        for i in 1...200 {
            let report = i % 3 == 0 ? "line one, \"q\"\nline \(i)" : "report \(i)"
            expected.append(report)
            text += "\(i),\"\(report.replacingOccurrences(of: "\"", with: "\"\""))\"\r\n"
        }
        let url = try temporaryFile("chunks.csv", text)
        let reader = try CSVReader(url: url, chunkSize: 7)
        var read: [String] = []
        while try reader.nextRecord() { read.append(try reader.string(at: 1, column: "report")) }
        #expect(read == expected)
        #expect(reader.line == 200 + 200 / 3 + 1)
    }

    @Test func missingColumnNamesFileAndColumn() throws {
        let url = try temporaryFile("bad.csv", "ecg_id,text\n1,x\n")
        #expect {
            try ReportSource(url: url, format: .ptbxl)
        } throws: { error in
            let message = "\(error)"
            return message.contains(url.path) && message.contains("missing column 'report'")
        }
        // Neither format, no generic columns: a clear hint.
        #expect { try ReportSource(url: url) } throws: { "\($0)".contains("--id-column") }
    }

    @Test func invalidUTF8NamesLineAndColumn() throws {
        var bytes = Data("ecg_id,report\n1,ok\n2,bad ".utf8)
        bytes.append(contentsOf: [0xC3, 0x28])
        bytes.append(contentsOf: Data("\n".utf8))
        let url = try temporaryFile("utf8.csv", bytes)
        let source = try ReportSource(url: url)
        _ = try source.next()
        #expect(throws: CSVError(file: url.path, line: 3, row: 2, kind: .invalidUTF8(column: "report"))) { try source.next() }
    }

    @Test func fileEndingInsideQuotesNamesTheOpeningLine() throws {
        let url = try temporaryFile("open.csv", "ecg_id,report\n1,ok\n2,\"never closed\nstill open\n")
        let source = try ReportSource(url: url)
        _ = try source.next()
        #expect(throws: CSVError(file: url.path, line: 3, row: 2, kind: .unterminatedQuote)) { try source.next() }
    }

    @Test func wrongFieldCountAndEmptyReports() throws {
        let url = try temporaryFile("ragged.csv", "ecg_id,report\n1,\n2,   \n,text\n3,a,b\n")
        let source = try ReportSource(url: url)
        #expect(try source.next() == .skipped(SkippedRow(line: 2, row: 1, reason: "empty report (ecg_id 1)")))
        #expect(try source.next() == .skipped(SkippedRow(line: 3, row: 2, reason: "empty report (ecg_id 2)")))
        #expect(try source.next() == .skipped(SkippedRow(line: 4, row: 3, reason: "empty ecg_id")))
        #expect(throws: CSVError(file: url.path, line: 5, row: 4, kind: .fieldCount(found: 3, expected: 2))) { try source.next() }
    }

    @Test func emptyFileIsAnError() throws {
        let url = try temporaryFile("empty.csv", "")
        #expect(throws: CSVError(file: url.path, line: 0, row: 0, kind: .empty)) { try ReportSource(url: url) }
    }

    @Test func explicitFormatOverridesDetection() throws {
        let url = try SharedData.url("ptbxl/ptbxl_database.csv")
        // The PTB-XL file read as a generic CSV with other columns.
        let generic = try ReportSource(url: url, format: .generic, idColumn: "filename_lr", textColumn: "report")
        guard case .report(let first) = try generic.next() else {
            Issue.record("expected a report")
            return
        }
        #expect(first.externalID == "records100/00000/00001_lr")
        // …and as MIMIC, which it is not: the missing column is named.
        #expect { try ReportSource(url: url, format: .mimic) } throws: { error in
            "\(error)".contains("missing column 'study_id' required by the mimic format")
        }
    }
}
