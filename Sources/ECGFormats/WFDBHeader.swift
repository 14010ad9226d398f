import ECGCore
import Foundation

/// One signal line of a WFDB header: where and how a signal is stored, and how its digital
/// samples map to physical units.
public struct WFDBSignalSpec: Sendable, Hashable {
    /// The signal file's name as written (relative to the header's folder).
    public var fileName: String
    /// The storage format (8, 16, 61, 80, 160, 212, 310, 311, 24, 32; 508/516/524 are FLAC).
    public var format: Int
    /// Samples of this signal in each frame (≥ 1).
    public var samplesPerFrame: Int
    /// Skew in frames: sample `k` of this signal is stored in frame `k + skew`.
    public var skew: Int
    /// Bytes to skip at the start of the signal file (e.g. the 24-byte MATLAB v4 header).
    public var byteOffset: Int
    /// ADC units per physical unit (a written 0 or a missing gain means 200, as in WFDB).
    public var gain: Double
    /// The digital value of 0 physical units (defaults to the ADC zero).
    public var baseline: Int
    /// Physical units (default `mV`).
    public var units: String
    /// ADC resolution in bits, when written.
    public var adcResolution: Int?
    /// ADC zero (default 0).
    public var adcZero: Int
    /// The first sample's value (used by the difference format 8; defaults to the ADC zero).
    public var initialValue: Int
    /// The 16-bit checksum of the signal's samples, when written.
    public var checksum: Int?
    /// Block size (0 for ordinary files).
    public var blockSize: Int
    /// The signal's description, usually the lead name (`MLII`, `avr`, `V1` …).
    public var description: String

    /// A signal line with WFDB defaults for everything not given.
    public init(
        fileName: String, format: Int, samplesPerFrame: Int = 1, skew: Int = 0, byteOffset: Int = 0, gain: Double = 200,
        baseline: Int = 0, units: String = "mV", adcResolution: Int? = nil, adcZero: Int = 0, initialValue: Int = 0,
        checksum: Int? = nil, blockSize: Int = 0, description: String = ""
    ) {
        self.fileName = fileName
        self.format = format
        self.samplesPerFrame = samplesPerFrame
        self.skew = skew
        self.byteOffset = byteOffset
        self.gain = gain
        self.baseline = baseline
        self.units = units
        self.adcResolution = adcResolution
        self.adcZero = adcZero
        self.initialValue = initialValue
        self.checksum = checksum
        self.blockSize = blockSize
        self.description = description
    }
}

/// A parsed WFDB header (`.hea`): the record line, the signal lines and the `#` comments.
public struct WFDBHeader: Sendable, Hashable {
    /// The record name (first field of the record line).
    public var recordName: String
    /// Number of segments for a multi-segment record (`name/N`), otherwise `nil`.
    public var segmentCount: Int?
    /// Number of signals declared.
    public var signalCount: Int
    /// Frames per second (default 250).
    public var samplingFrequency: Double
    /// Counter frequency, when written.
    public var counterFrequency: Double?
    /// Base counter value, when written.
    public var baseCounter: Double?
    /// Frames per signal, when written.
    public var frameCount: Int?
    /// Base time as written (`HH:MM:SS[.mmm]`).
    public var baseTime: String?
    /// Base date as written (`DD/MM/YYYY`).
    public var baseDate: String?
    /// The signal lines, in order.
    public var signals: [WFDBSignalSpec]
    /// Comment lines without the leading `#` and surrounding spaces.
    public var comments: [String]

    /// A header value.
    public init(
        recordName: String, segmentCount: Int? = nil, signalCount: Int, samplingFrequency: Double = 250,
        counterFrequency: Double? = nil, baseCounter: Double? = nil, frameCount: Int? = nil, baseTime: String? = nil,
        baseDate: String? = nil, signals: [WFDBSignalSpec] = [], comments: [String] = []
    ) {
        self.recordName = recordName
        self.segmentCount = segmentCount
        self.signalCount = signalCount
        self.samplingFrequency = samplingFrequency
        self.counterFrequency = counterFrequency
        self.baseCounter = baseCounter
        self.frameCount = frameCount
        self.baseTime = baseTime
        self.baseDate = baseDate
        self.signals = signals
        self.comments = comments
    }

    /// Upper bound on declared signals: more than this is treated as a damaged header.
    public static let maximumSignalCount = 4096

    /// Upper bound on samples per frame of one signal.
    public static let maximumSamplesPerFrame = 65536

    /// Reads and parses the header file at `url`.
    public init(contentsOf url: URL) throws {
        try self.init(path: url.path)
    }

    /// Reads and parses the header file at `path`.
    public init(path: String) throws {
        let bytes = try FileBytes.read(path: path)
        self = try WFDBHeader.parse(bytes, file: path)
    }

    /// Parses header text; `file` names the header in errors.
    public static func parse(_ text: String, file: String) throws -> WFDBHeader {
        try parse(Array(text.utf8), file: file)
    }

    /// Parses header bytes (ASCII/UTF-8); `file` names the header in errors.
    public static func parse(_ bytes: [UInt8], file: String) throws -> WFDBHeader {
        try bytes.withUnsafeBufferPointer { try parse(buffer: $0, file: file) }
    }

    // MARK: - Parsing

    private static func parse(buffer: UnsafeBufferPointer<UInt8>, file: String) throws -> WFDBHeader {
        var header: WFDBHeader?
        var comments: [String] = []
        var signals: [WFDBSignalSpec] = []
        var lineNumber = 0
        var start = 0
        let count = buffer.count
        while start < count {
            var end = start
            while end < count && buffer[end] != 0x0A { end += 1 }
            lineNumber += 1
            var lineEnd = end
            if lineEnd > start && buffer[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            let line = Line(buffer: buffer, start: start, end: lineEnd, number: lineNumber)
            start = end + 1
            var first = line.start
            while first < line.end && isSpace(buffer[first]) { first += 1 }
            if first == line.end { continue }
            if buffer[first] == 0x23 {  // '#'
                comments.append(commentText(buffer, from: first, to: line.end))
                continue
            }
            if header == nil {
                header = try parseRecordLine(line, file: file)
            } else if let h = header, h.segmentCount == nil, signals.count < h.signalCount {
                signals.append(try parseSignalLine(line, index: signals.count, file: file))
            }
            // Further non-comment lines (segment lines, info) are not needed.
        }
        guard var result = header else {
            throw ECGFileError(file: file, problem: "no record line: the header is empty or holds only comments")
        }
        if result.segmentCount == nil && signals.count < result.signalCount {
            throw ECGFileError(
                file: file, problem: "the record line declares \(result.signalCount) signals but the header has \(signals.count) signal lines")
        }
        result.signals = signals
        result.comments = comments
        return result
    }

    private struct Line {
        let buffer: UnsafeBufferPointer<UInt8>
        let start: Int
        let end: Int
        let number: Int

        /// Ranges of the whitespace-separated fields.
        func fields() -> [Range<Int>] {
            var out: [Range<Int>] = []
            out.reserveCapacity(10)
            var i = start
            while i < end {
                while i < end && isSpace(buffer[i]) { i += 1 }
                if i == end { break }
                let s = i
                while i < end && !isSpace(buffer[i]) { i += 1 }
                out.append(s..<i)
            }
            return out
        }

        func string(_ range: Range<Int>) -> String {
            String(decoding: UnsafeBufferPointer(rebasing: buffer[range]), as: UTF8.self)
        }
    }

    @inline(__always)
    private static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0B || b == 0x0C }

    private static func commentText(_ buffer: UnsafeBufferPointer<UInt8>, from: Int, to: Int) -> String {
        var s = from
        var e = to
        while s < e && (buffer[s] == 0x23 || isSpace(buffer[s])) { s += 1 }
        while e > s && (buffer[e - 1] == 0x23 || isSpace(buffer[e - 1])) { e -= 1 }
        return String(decoding: UnsafeBufferPointer(rebasing: buffer[s..<e]), as: UTF8.self)
    }

    private static func parseRecordLine(_ line: Line, file: String) throws -> WFDBHeader {
        let f = line.fields()
        let buf = line.buffer
        func fail(_ what: String) -> ECGFileError { ECGFileError(file: file, problem: "line \(line.number): \(what)") }
        guard f.count >= 2 else { throw fail("record line needs at least a record name and a signal count") }
        // name[/segments]
        var nameRange = f[0]
        var segments: Int?
        if let slash = nameRange.firstIndex(where: { buf[$0] == 0x2F }) {
            guard let n = parseInt(buf, (slash + 1)..<nameRange.upperBound), n > 0 else {
                throw fail("invalid segment count in '\(line.string(f[0]))'")
            }
            segments = n
            nameRange = nameRange.lowerBound..<slash
        }
        let name = line.string(nameRange)
        guard !name.isEmpty else { throw fail("empty record name") }
        guard let nsig = parseInt(buf, f[1]), nsig >= 0 else { throw fail("non-numeric signal count '\(line.string(f[1]))'") }
        guard nsig <= maximumSignalCount else { throw fail("signal count \(nsig) exceeds \(maximumSignalCount)") }
        var header = WFDBHeader(recordName: name, segmentCount: segments, signalCount: nsig)
        var index = 2
        if index < f.count, !line.string(f[index]).contains(":") {
            // fs[/counter[(base)]]
            let r = f[index]
            var fsEnd = r.upperBound
            if let slash = r.firstIndex(where: { buf[$0] == 0x2F }) {
                fsEnd = slash
                var counterEnd = r.upperBound
                if let paren = ((slash + 1)..<r.upperBound).first(where: { buf[$0] == 0x28 }) {
                    counterEnd = paren
                    var close = r.upperBound
                    if buf[close - 1] == 0x29 { close -= 1 }
                    guard let base = parseDouble(buf, (paren + 1)..<close) else { throw fail("invalid base counter in '\(line.string(r))'") }
                    header.baseCounter = base
                }
                guard let counter = parseDouble(buf, (slash + 1)..<counterEnd) else {
                    throw fail("invalid counter frequency in '\(line.string(r))'")
                }
                header.counterFrequency = counter
            }
            guard let fs = parseDouble(buf, r.lowerBound..<fsEnd), fs > 0, fs.isFinite else {
                throw fail("invalid sampling frequency '\(line.string(r))'")
            }
            header.samplingFrequency = fs
            index += 1
            if index < f.count, !line.string(f[index]).contains(":") {
                guard let n = parseInt(buf, f[index]), n >= 0 else { throw fail("non-numeric number of samples '\(line.string(f[index]))'") }
                header.frameCount = n
                index += 1
            }
        }
        if index < f.count {
            header.baseTime = line.string(f[index])
            index += 1
        }
        if index < f.count {
            header.baseDate = line.string(f[index])
        }
        return header
    }

    private static func parseSignalLine(_ line: Line, index: Int, file: String) throws -> WFDBSignalSpec {
        let f = line.fields()
        let buf = line.buffer
        func fail(_ what: String) -> ECGFileError {
            ECGFileError(file: file, problem: "line \(line.number) (signal \(index)): \(what)")
        }
        guard f.count >= 2 else { throw fail("a signal line needs a file name and a format") }
        let fileName = line.string(f[0])
        // format[xspf][:skew][+offset]
        let fr = f[1]
        var i = fr.lowerBound
        func number(_ label: String) throws -> Int {
            let s = i
            while i < fr.upperBound && buf[i] >= 0x30 && buf[i] <= 0x39 { i += 1 }
            guard let v = parseInt(buf, s..<i) else { throw fail("non-numeric \(label) in '\(line.string(fr))'") }
            return v
        }
        let format = try number("format")
        var spf = 1
        var skew = 0
        var offset = 0
        while i < fr.upperBound {
            let c = buf[i]
            i += 1
            switch c {
            case 0x78: spf = try number("samples per frame")  // x
            case 0x3A: skew = try number("skew")  // :
            case 0x2B: offset = try number("byte offset")  // +
            default: throw fail("unexpected '\(Character(UnicodeScalar(c)))' in format field '\(line.string(fr))'")
            }
        }
        guard spf >= 1, spf <= maximumSamplesPerFrame else { throw fail("samples per frame must lie in 1…\(maximumSamplesPerFrame), got \(spf)") }
        guard skew <= Int(Int32.max), offset <= Int(Int32.max) else { throw fail("skew or byte offset out of range in '\(line.string(fr))'") }
        var spec = WFDBSignalSpec(fileName: fileName, format: format, samplesPerFrame: spf, skew: skew, byteOffset: offset)
        var baseline: Int?
        if f.count > 2 {
            let g = f[2]
            var gainEnd = g.upperBound
            var unitsStart: Int?
            if let paren = g.firstIndex(where: { buf[$0] == 0x28 }) {
                gainEnd = paren
                guard let close = g.firstIndex(where: { buf[$0] == 0x29 }), close > paren else {
                    throw fail("unclosed baseline in '\(line.string(g))'")
                }
                guard let b = parseInt(buf, (paren + 1)..<close) else { throw fail("non-numeric baseline in '\(line.string(g))'") }
                baseline = b
                if close + 1 < g.upperBound {
                    guard buf[close + 1] == 0x2F else { throw fail("expected '/' after the baseline in '\(line.string(g))'") }
                    unitsStart = close + 2
                }
            } else if let slash = g.firstIndex(where: { buf[$0] == 0x2F }) {
                gainEnd = slash
                unitsStart = slash + 1
            }
            guard let gain = parseDouble(buf, g.lowerBound..<gainEnd), gain.isFinite else {
                throw fail("non-numeric ADC gain '\(line.string(g))'")
            }
            spec.gain = gain == 0 ? 200 : gain
            if let u = unitsStart, u < g.upperBound { spec.units = line.string(u..<g.upperBound) }
        }
        func optionalInt(_ k: Int, _ label: String) throws -> Int? {
            guard k < f.count else { return nil }
            guard let v = parseInt(buf, f[k]) else { throw fail("non-numeric \(label) '\(line.string(f[k]))'") }
            return v
        }
        spec.adcResolution = try optionalInt(3, "ADC resolution")
        let zero = try optionalInt(4, "ADC zero")
        spec.adcZero = zero ?? 0
        spec.initialValue = try optionalInt(5, "initial value") ?? spec.adcZero
        spec.checksum = try optionalInt(6, "checksum")
        spec.blockSize = try optionalInt(7, "block size") ?? 0
        spec.baseline = baseline ?? zero ?? 0
        if f.count > 8 {
            var e = line.end
            while e > f[8].lowerBound && isSpace(buf[e - 1]) { e -= 1 }
            spec.description = line.string(f[8].lowerBound..<e)
        }
        return spec
    }

    /// Parses an optionally signed decimal integer filling `range` exactly; `nil` on anything else or overflow.
    static func parseInt(_ buf: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Int? {
        var i = range.lowerBound
        guard i < range.upperBound else { return nil }
        var negative = false
        if buf[i] == 0x2D || buf[i] == 0x2B {
            negative = buf[i] == 0x2D
            i += 1
        }
        guard i < range.upperBound else { return nil }
        var value = 0
        while i < range.upperBound {
            let d = Int(buf[i]) &- 0x30
            guard d >= 0 && d <= 9 else { return nil }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(d)
            guard !o1 && !o2 else { return nil }
            value = a
            i += 1
        }
        return negative ? -value : value
    }

    /// Parses a decimal floating-point number filling `range` exactly.
    static func parseDouble(_ buf: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Double? {
        guard !range.isEmpty, range.count < 64 else { return nil }
        // Fast path: plain integers.
        if let v = parseInt(buf, range), abs(v) < (1 << 53) { return Double(v) }
        for k in range {
            let c = buf[k]
            let ok = (c >= 0x30 && c <= 0x39) || c == 0x2E || c == 0x2D || c == 0x2B || c == 0x65 || c == 0x45
            if !ok { return nil }
        }
        return Double(String(decoding: UnsafeBufferPointer(rebasing: buf[range]), as: UTF8.self))
    }
}

extension WFDBHeader {
    /// The start of the recording, when both base time and base date are written (UTC, as WFDB has no zone).
    public var startDate: Date? {
        guard let time = baseTime, let date = baseDate else { return nil }
        let t = time.split(separator: ":")
        let d = date.split(separator: "/")
        guard t.count >= 2, t.count <= 3, d.count == 3,
            let hh = Int(t[0]), let mm = Int(t[1]), let day = Int(d[0]), let month = Int(d[1]), let year = Int(d[2]),
            (0..<24).contains(hh), (0..<60).contains(mm), (1...31).contains(day), (1...12).contains(month), (1...9999).contains(year)
        else { return nil }
        let seconds = t.count == 3 ? Double(t[2]) ?? -1 : 0
        guard seconds >= 0, seconds < 61 else { return nil }
        // Days from civil (Howard Hinnant's algorithm).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        let interval = Double(days) * 86_400 + Double(hh * 3600 + mm * 60) + seconds
        return Date(timeIntervalSince1970: interval)
    }

    /// The URL of a signal file named in this header, refusing names that leave the header's folder
    /// (absolute paths, `..` components).
    public static func signalFileURL(_ name: String, headerURL: URL) throws -> URL {
        URL(fileURLWithPath: try signalFilePath(name, headerPath: headerURL.path))
    }

    /// The path of a signal file named in the header at `headerPath` (see `signalFileURL`).
    public static func signalFilePath(_ name: String, headerPath path: String) throws -> String {
        if name.hasPrefix("/") || name.hasPrefix("\\") || name.contains(":\\") {
            throw ECGFileError(file: path, problem: "signal file '\(name)' is an absolute path; it must lie in the record's folder")
        }
        let components = name.split(whereSeparator: { $0 == "/" || $0 == "\\" })
        if components.contains(where: { $0 == ".." }) || components.isEmpty {
            throw ECGFileError(file: path, problem: "signal file '\(name)' leaves the record's folder; refused")
        }
        guard let slash = path.lastIndex(of: "/") else { return name }
        return path[...slash] + name
    }
}
