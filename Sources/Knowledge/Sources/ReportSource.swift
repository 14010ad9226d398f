import ECGCore
import Foundation

/// The layout of a report file.
public enum ReportFormat: String, Sendable, Codable, CaseIterable {
    /// Detect from the header row.
    case auto
    /// PTB-XL `ptbxl_database.csv`: `ecg_id`, `report`.
    case ptbxl
    /// MIMIC-IV-ECG `machine_measurements.csv`: `study_id`, `report_0` … `report_17`.
    case mimic
    /// Any CSV with an id column and a text column named by the caller.
    case generic
}

/// A report file problem that is not a CSV syntax error: wrong columns, undetectable format.
public struct ReportSourceError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file's path.
    public var file: String
    /// What is wrong, in words a user can act on.
    public var message: String

    /// Creates an error.
    public init(file: String, message: String) {
        self.file = file
        self.message = message
    }

    public var description: String { "\(file): \(message)" }
}

/// One report read from a source file.
public struct SourceReport: Sendable, Hashable {
    /// The source's id as written (PTB-XL `ecg_id`, MIMIC `study_id`).
    public var externalID: String
    /// The report text (MIMIC: the machine lines joined in order).
    public var text: String
    /// Physical line on which the row starts.
    public var line: Int
    /// 1-based data row.
    public var row: Int
}

/// A row that was read but yields no report, and why.
public struct SkippedRow: Sendable, Hashable, CustomStringConvertible {
    public var line: Int
    public var row: Int
    public var reason: String

    public var description: String { "line \(line) (row \(row)): \(reason)" }
}

/// What the next row of a source yields.
public enum SourceRow: Sendable, Hashable {
    case report(SourceReport)
    case skipped(SkippedRow)
}

/// Streams the reports of one CSV file in one of the `ReportFormat`s.
///
/// Memory stays flat: one record at a time (see `CSVReader`). Structural problems (missing
/// columns, invalid UTF-8, a row of the wrong width, a file ending inside quotes) throw errors
/// naming the file and line; rows without an id or with an empty report are returned as
/// `.skipped` with the reason.
public final class ReportSource {
    /// The detected or requested format (never `.auto`).
    public let format: ReportFormat
    /// The file's path.
    public var path: String { reader.path }
    /// Bytes of the file consumed so far (for progress).
    public var bytesConsumed: Int { reader.bytesConsumed }
    private let reader: CSVReader
    private let idColumn: Int
    private let idName: String
    private let textColumns: [(index: Int, name: String)]

    /// Opens `url`, reads the header and checks that the columns of `format` are present.
    /// `idColumn`/`textColumn` name the columns of a generic file (and make `.auto` pick generic
    /// when the header is neither PTB-XL nor MIMIC).
    public init(url: URL, format: ReportFormat = .auto, idColumn: String? = nil, textColumn: String? = nil) throws {
        let csv = try CSVReader(url: url)
        reader = csv
        let header = csv.header
        let file = url.path
        let resolved: ReportFormat
        switch format {
        case .auto:
            resolved = try Self.detect(header: header, file: file, generic: idColumn != nil || textColumn != nil)
        default:
            resolved = format
        }
        self.format = resolved

        func require(_ name: String) throws -> Int {
            guard let index = csv.column(named: name) else {
                throw ReportSourceError(
                    file: file,
                    message: "missing column '\(name)' required by the \(resolved.rawValue) format (header: \(header.joined(separator: ",")))")
            }
            return index
        }

        switch resolved {
        case .ptbxl:
            idName = "ecg_id"
            self.idColumn = try require("ecg_id")
            textColumns = [(try require("report"), "report")]
        case .mimic:
            idName = "study_id"
            self.idColumn = try require("study_id")
            var columns: [(Int, String)] = []
            var k = 0
            while let index = csv.column(named: "report_\(k)") {
                columns.append((index, "report_\(k)"))
                k += 1
            }
            if columns.isEmpty { _ = try require("report_0") }
            textColumns = columns
        case .generic, .auto:
            guard let idColumn, let textColumn else {
                throw ReportSourceError(file: file, message: "the generic format needs --id-column and --text-column")
            }
            idName = idColumn
            self.idColumn = try require(idColumn)
            textColumns = [(try require(textColumn), textColumn)]
        }
    }

    /// The format a header row belongs to.
    static func detect(header: [String], file: String, generic: Bool) throws -> ReportFormat {
        let names = Set(header.map { $0.lowercased() })
        if names.contains("ecg_id") && names.contains("report") { return .ptbxl }
        if names.contains("study_id") && names.contains("report_0") { return .mimic }
        if generic { return .generic }
        throw ReportSourceError(
            file: file,
            message: "cannot detect the report format from the header (\(header.prefix(12).joined(separator: ","))…): "
                + "expected PTB-XL (ecg_id, report) or MIMIC-IV-ECG (study_id, report_0…); "
                + "for another CSV use --format generic --id-column NAME --text-column NAME")
    }

    /// The next row, or `nil` at the end of the file.
    public func next() throws -> SourceRow? {
        while try reader.nextRecord() {
            // A blank physical line between records is not a row.
            if reader.fieldCount == 1 && reader.isBlank(at: 0) && reader.header.count > 1 { continue }
            try reader.requireHeaderWidth()
            let line = reader.line
            let row = reader.row
            let id = try reader.string(at: idColumn, column: idName, trimmed: true)
            if id.isEmpty {
                return .skipped(SkippedRow(line: line, row: row, reason: "empty \(idName)"))
            }
            let text: String
            if textColumns.count == 1 {
                let column = textColumns[0]
                text = reader.isBlank(at: column.index) ? "" : try reader.string(at: column.index, column: column.name, trimmed: true)
            } else {
                text = try joinedLines()
            }
            if text.isEmpty {
                return .skipped(SkippedRow(line: line, row: row, reason: "empty report (\(idName) \(id))"))
            }
            return .report(SourceReport(externalID: id, text: text, line: line, row: row))
        }
        return nil
    }

    /// MIMIC: the non-empty `report_k` lines in order, each ending a clause.
    private func joinedLines() throws -> String {
        var text = ""
        for column in textColumns where !reader.isBlank(at: column.index) {
            let part = try reader.string(at: column.index, column: column.name, trimmed: true)
            if part.isEmpty { continue }
            if !text.isEmpty {
                if let last = text.utf8.last, last == 0x2E || last == 0x3B || last == 0x3A || last == 0x21 || last == 0x3F {
                    text += " "
                } else {
                    text += ". "
                }
            }
            text += part
        }
        return text
    }
}
