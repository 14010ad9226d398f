import ECGCore
import Foundation

/// Reads ECG signals from CSV: a header row of lead names (any alias: `I`, `avr`, `MLII`, `V1 (mV)` …),
/// an optional time column, one row per sample; comma, semicolon or tab separated.
///
/// Units come from the header (`II (uV)`, `V1 [mV]`), otherwise `mV`. The sampling rate is the
/// caller's (`--fs`) when given, otherwise derived from the time column (seconds, or milliseconds
/// when the column is named `ms`/`time_ms`/`time (ms)`). Empty cells are missing samples (NaN).
public enum ECGCSVReader {
    /// Reads the CSV file at `url`; `samplingRate` overrides the time column.
    public static func read(_ url: URL, samplingRate: Double? = nil) throws -> ECGRecord {
        let bytes = try FileBytes.read(url)
        return try read(bytes: bytes, file: url.path, id: url.deletingPathExtension().lastPathComponent, samplingRate: samplingRate, url: url)
    }

    private enum TimeUnit { case seconds, milliseconds }

    /// Reads CSV bytes; `file` names the input in errors, `id` becomes the record id.
    public static func read(bytes: [UInt8], file: String, id: String, samplingRate: Double? = nil, url: URL? = nil) throws -> ECGRecord {
        func fail(_ problem: String) -> ECGFileError { ECGFileError(file: file, problem: problem) }
        if let fs = samplingRate, !(fs > 0 && fs.isFinite) { throw fail("sampling rate must be positive, got \(fs)") }
        return try bytes.withUnsafeBufferPointer { buf -> ECGRecord in
            var pos = 0
            if buf.count >= 3 && buf[0] == 0xEF && buf[1] == 0xBB && buf[2] == 0xBF { pos = 3 }
            var lineNumber = 0
            /// The next non-empty line as a byte range.
            func nextLine() -> Range<Int>? {
                while pos < buf.count {
                    let start = pos
                    while pos < buf.count && buf[pos] != 0x0A { pos += 1 }
                    var end = pos
                    pos += 1
                    lineNumber += 1
                    if end > start && buf[end - 1] == 0x0D { end -= 1 }
                    var s = start
                    while s < end && (buf[s] == 0x20 || buf[s] == 0x09) { s += 1 }
                    if s < end { return start..<end }
                }
                return nil
            }
            guard let headerRange = nextLine() else { throw fail("empty CSV: no header row") }
            var commas = 0
            var semicolons = 0
            var tabs = 0
            for k in headerRange {
                switch buf[k] {
                case 0x2C: commas += 1
                case 0x3B: semicolons += 1
                case 0x09: tabs += 1
                default: break
                }
            }
            let separator: UInt8 = semicolons > commas && semicolons >= tabs ? 0x3B : (tabs > commas ? 0x09 : 0x2C)
            let decimalComma = separator != 0x2C
            func cells(_ range: Range<Int>) -> [Range<Int>] {
                var out: [Range<Int>] = []
                var s = range.lowerBound
                var k = s
                while k < range.upperBound {
                    if buf[k] == separator {
                        out.append(s..<k)
                        s = k + 1
                    }
                    k += 1
                }
                out.append(s..<range.upperBound)
                return out
            }
            let names = cells(headerRange).map { r -> String in
                var text = String(decoding: UnsafeBufferPointer(rebasing: buf[r]), as: UTF8.self).trimmingWhitespace()
                if text.count >= 2, text.hasPrefix("\""), text.hasSuffix("\"") { text = String(text.dropFirst().dropLast()) }
                return text.trimmingWhitespace()
            }
            guard names.count >= 1, !(names.count == 1 && names[0].isEmpty) else { throw fail("empty header row") }
            var timeColumn: (index: Int, unit: TimeUnit)?
            var skipped = Set<Int>()
            var columns: [(index: Int, name: String, units: String)] = []
            for (i, raw) in names.enumerated() {
                let key = raw.lowercased()
                if ["time", "t", "time_s", "time (s)", "time[s]", "time [s]", "seconds", "sec", "s", "timestamp"].contains(key) {
                    timeColumn = (i, .seconds)
                } else if ["ms", "time_ms", "time (ms)", "time [ms]", "milliseconds"].contains(key) {
                    timeColumn = (i, .milliseconds)
                } else if ["sample", "samples", "index", "idx", "n", ""].contains(key) {
                    skipped.insert(i)
                } else {
                    var name = raw
                    var units = "mV"
                    for (open, close) in [("(", ")"), ("[", "]")] {
                        if raw.hasSuffix(close), let o = raw.lastIndex(of: Character(open)) {
                            units = String(raw[raw.index(after: o)..<raw.index(before: raw.endIndex)]).trimmingWhitespace()
                            name = String(raw[..<o]).trimmingWhitespace()
                            break
                        }
                    }
                    columns.append((i, name, units))
                }
            }
            guard !columns.isEmpty else { throw fail("header row names no lead columns") }
            let width = names.count
            var values = [[Float]](repeating: [], count: columns.count)
            let estimatedRows = buf.count / max(1, 2 * width)
            for c in 0..<columns.count { values[c].reserveCapacity(estimatedRows) }
            var times: [Double] = []
            var scratch = [UInt8](repeating: 0, count: 64)
            func number(_ r: Range<Int>, line: Int, column: Int) throws -> Double? {
                var s = r.lowerBound
                var e = r.upperBound
                while s < e && (buf[s] == 0x20 || buf[s] == 0x09 || buf[s] == 0x22) { s += 1 }
                while e > s && (buf[e - 1] == 0x20 || buf[e - 1] == 0x09 || buf[e - 1] == 0x22) { e -= 1 }
                if s == e { return nil }
                if let v = WFDBHeader.parseInt(buf, s..<e) { return Double(v) }
                guard e - s < 64 else { throw fail("line \(line), column \(names[column]): value too long") }
                for k in s..<e { scratch[k - s] = (decimalComma && buf[k] == 0x2C) ? 0x2E : buf[k] }
                let text = String(decoding: scratch[0..<(e - s)], as: UTF8.self)
                let lowered = text.lowercased()
                if lowered == "nan" || lowered == "na" { return nil }
                guard let v = Double(text), v.isFinite else {
                    throw fail("line \(line), column \(names[column]): non-numeric value '\(text)'")
                }
                return v
            }
            while let row = nextLine() {
                let r = cells(row)
                guard r.count == width else {
                    throw fail("line \(lineNumber): \(r.count) fields, the header has \(width) (ragged row)")
                }
                for (c, column) in columns.enumerated() {
                    values[c].append(try number(r[column.index], line: lineNumber, column: column.index).map(Float.init) ?? .nan)
                }
                if let t = timeColumn {
                    guard let v = try number(r[t.index], line: lineNumber, column: t.index) else {
                        throw fail("line \(lineNumber): empty time value")
                    }
                    times.append(t.unit == .milliseconds ? v / 1000 : v)
                }
            }
            let count = values[0].count
            guard count > 0 else { throw fail("no data rows after the header") }
            var warnings: [String] = []
            let fs: Double
            if let given = samplingRate {
                fs = given
            } else if timeColumn != nil {
                guard count >= 2 else { throw fail("a single row: cannot derive the sampling rate from the time column (pass --fs)") }
                let span = times[count - 1] - times[0]
                guard span > 0 else { throw fail("time column does not increase: cannot derive the sampling rate") }
                // Rounded to µHz so that printed time stamps (0.002, 0.004 …) give exactly 500 Hz.
                fs = (Double(count - 1) / span * 1e6).rounded() / 1e6
                let step = span / Double(count - 1)
                var irregular = 0
                for k in 1..<count where abs((times[k] - times[k - 1]) - step) > 0.01 * step { irregular += 1 }
                if irregular > 0 {
                    warnings.append("time column is irregular in \(irregular) steps; sampling rate \(fs) Hz taken from its span")
                }
            } else {
                throw fail("sampling rate unknown: no time column in the header (pass --fs)")
            }
            let leads = columns.enumerated().map { c, column in
                LeadSignal(lead: Lead(parsing: column.name), writtenName: column.name, samples: values[c], units: column.units)
            }
            return ECGRecord(
                id: id, samplingRate: fs, leads: leads, comments: [], sourceFormat: .csv, sourceURL: url, warnings: warnings)
        }
    }
}
