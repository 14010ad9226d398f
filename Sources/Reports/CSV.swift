import Foundation

/// One CSV cell: text (quoted when needed, neutralised against formula injection) or a number.
public enum CSVCell: Sendable, Hashable, ExpressibleByStringLiteral {
    /// Free text. Neutralised when it starts with `=`, `+`, `-`, `@`, tab or carriage return.
    case text(String)
    /// A number written by us; never neutralised (see `CSV.neutralize`).
    case number(Double, decimals: Int)
    /// An empty cell (a value that is absent or could not be measured).
    case empty

    public init(stringLiteral value: String) { self = .text(value) }

    /// A number cell, or an empty cell for `nil` / non-finite values.
    public static func number(_ value: Double?, decimals: Int = 4) -> CSVCell {
        guard let value, value.isFinite else { return .empty }
        return .number(value, decimals: decimals)
    }
}

/// RFC 4180 CSV formatting with spreadsheet formula-injection protection.
///
/// Text cells that begin with `=`, `+`, `-`, `@`, tab or carriage return get a leading apostrophe
/// (the OWASP recommendation), so a spreadsheet shows them as text instead of evaluating them.
/// Numeric cells are produced by kmerl's own number formatting (digits, one `.` and an optional
/// leading `-`), so a negative number such as `-0.12` or `-45` cannot carry a formula; they are
/// written unchanged so that analysts load them as numbers.
public enum CSV {
    /// The characters that make a text cell a potential formula.
    static let dangerousFirst: Set<Character> = ["=", "+", "-", "@", "\t", "\r"]

    /// `text` with a leading apostrophe when it could be read as a formula.
    public static func neutralize(_ text: String) -> String {
        guard let first = text.first, dangerousFirst.contains(first) else { return text }
        return "'" + text
    }

    /// The cell's field text, quoted when it contains a comma, quote or line break.
    public static func field(_ cell: CSVCell) -> String {
        var bytes: [UInt8] = []
        append(cell, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the cell's field text as UTF-8.
    public static func append(_ cell: CSVCell, to bytes: inout [UInt8]) {
        switch cell {
        case .empty: return
        case .number(let value, let decimals): NumberText.append(value, decimals: decimals, trimZeros: true, to: &bytes)
        case .text(let raw):
            var text = raw
            let utf8 = text.utf8
            guard let first = utf8.first else { return }
            let neutralized =
                first == UInt8(ascii: "=") || first == UInt8(ascii: "+") || first == UInt8(ascii: "-") || first == UInt8(ascii: "@")
                || first == 0x09 || first == 0x0D
            let needsQuotes = utf8.contains { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0A || $0 == 0x0D }
            if needsQuotes { bytes.append(UInt8(ascii: "\"")) }
            if neutralized { bytes.append(UInt8(ascii: "'")) }
            if needsQuotes {
                text.withUTF8 { buffer in
                    for byte in buffer {
                        bytes.append(byte)
                        if byte == UInt8(ascii: "\"") { bytes.append(byte) }
                    }
                }
                bytes.append(UInt8(ascii: "\""))
            } else {
                text.withUTF8 { bytes.append(contentsOf: $0) }
            }
        }
    }

    /// Appends one CSV line (ending in `\n`) as UTF-8.
    public static func appendLine(_ cells: [CSVCell], to bytes: inout [UInt8]) {
        for (index, cell) in cells.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            append(cell, to: &bytes)
        }
        bytes.append(0x0A)
    }

    /// A number with at most `decimals` decimals, trailing zeros removed (`0.5`, `120`, `-0.12`).
    public static func formatNumber(_ value: Double, decimals: Int) -> String {
        NumberText.trimmed(value, decimals)
    }

    /// One CSV line (CRLF-free: lines end in `\n`).
    public static func line(_ cells: [CSVCell]) -> String {
        var bytes: [UInt8] = []
        appendLine(cells, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Parses CSV text into rows of fields (quotes and embedded line breaks handled); used by tests
    /// and by readers of our own output.
    public static func parse(_ text: String) -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field = ""
        var inQuotes = false
        var iterator = Array(text).makeIterator()
        var pending: Character? = nil
        while let c = pending ?? iterator.next() {
            pending = nil
            if inQuotes {
                if c == "\"" {
                    if let next = iterator.next() {
                        if next == "\"" { field.append("\"") } else { inQuotes = false; pending = next }
                    } else { inQuotes = false }
                } else { field.append(c) }
            } else if c == "\"" {
                inQuotes = true
            } else if c == "," {
                row.append(field); field = ""
            } else if c == "\n" || c == "\r\n" {
                row.append(field); rows.append(row); row = []; field = ""
            } else if c != "\r" {
                field.append(c)
            }
        }
        if !field.isEmpty || !row.isEmpty { row.append(field); rows.append(row) }
        return rows
    }
}

/// Streams CSV lines to a file through a buffer, so that a batch of any size keeps constant memory.
public final class CSVFileWriter {
    private let handle: FileHandle
    private var buffer = Data()
    /// The file being written.
    public let url: URL

    /// Creates (or truncates) `url` and writes the header line.
    public init(url: URL, header: [String]) throws {
        self.url = url
        guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
            throw ReportWriteError(file: url.path, problem: "cannot create the file")
        }
        handle = try FileHandle(forWritingTo: url)
        buffer.reserveCapacity(1 << 16)
        try write(header.map { CSVCell.text($0) })
    }

    /// Appends one row.
    public func write(_ cells: [CSVCell]) throws {
        buffer.append(contentsOf: CSV.line(cells).utf8)
        if buffer.count >= 1 << 16 { try flush() }
    }

    /// Appends rows already formatted with `CSV.appendLine` (formatted in parallel by the caller).
    public func writeFormatted(_ lines: [UInt8]) throws {
        buffer.append(contentsOf: lines)
        if buffer.count >= 1 << 16 { try flush() }
    }

    /// Writes the buffered rows to the file.
    public func flush() throws {
        guard !buffer.isEmpty else { return }
        try handle.write(contentsOf: buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes, syncs and closes the file.
    public func close() throws {
        try flush()
        try handle.synchronize()
        try handle.close()
    }
}

/// A report file that could not be written: names the file and the problem.
public struct ReportWriteError: Error, CustomStringConvertible, LocalizedError {
    public var file: String
    public var problem: String

    public init(file: String, problem: String) {
        self.file = file
        self.problem = problem
    }

    public var description: String { "\(file): \(problem)" }
    public var errorDescription: String? { description }
}
