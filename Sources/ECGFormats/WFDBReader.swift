import ECGCore
import Foundation

/// Reads WFDB records (header + signal files in formats 8, 16, 61, 80, 160, 212, 310, 311, 24, 32,
/// and MATLAB v4 `.mat` signal files as used by the PhysioNet/CinC challenges).
///
/// Digital samples are converted to physical units as `(digital − baseline) / gain`; WFDB invalid
/// samples become `Float.nan`. Signals with several samples per frame are averaged per frame
/// (like wfdb-python's `smooth_frames`), so every lead has one sample per frame.
public enum WFDBReader {
    /// Reads the record whose header is `header` (a `.hea` file).
    public static func read(header: URL) throws -> ECGRecord {
        let path = header.path
        let parsed = try WFDBHeader(path: path)
        return try read(header: parsed, url: header, path: path)
    }

    /// Reads the signals of an already parsed header; `url` is the header's location (signal files
    /// are resolved beside it).
    public static func read(header: WFDBHeader, url: URL) throws -> ECGRecord {
        try read(header: header, url: url, path: url.path)
    }

    private static func read(header: WFDBHeader, url: URL, path: String) throws -> ECGRecord {
        try read(header: header, url: url, path: path) { name, filePath in
            do {
                return try FileBytes.read(path: filePath)
            } catch let error as ECGFileError {
                if !FileManager.default.fileExists(atPath: filePath) {
                    throw ECGFileError(file: path, problem: "signal file '\(name)' is missing")
                }
                throw error
            }
        }
    }

    /// Reads the signals of `header` with `load(fileName, resolvedPath)` supplying each signal
    /// file's bytes (from disk, or from memory in tests and fuzzing).
    static func read(
        header: WFDBHeader, url: URL?, path: String, load: (String, String) throws -> [UInt8]
    ) throws -> ECGRecord {
        if let segments = header.segmentCount {
            throw ECGFileError(file: path, problem: "multi-segment records (\(segments) segments) are not supported")
        }
        guard header.signalCount > 0 else {
            throw ECGFileError(file: path, problem: "the record has no signals")
        }
        for (i, s) in header.signals.enumerated() {
            if WFDBSignalDecoder.flacFormats.contains(s.format) {
                throw ECGFileError(file: path, problem: "signal \(i) uses FLAC-compressed format \(s.format), which is not supported")
            }
            if !WFDBSignalDecoder.supportedFormats.contains(s.format) {
                throw ECGFileError(file: path, problem: "signal \(i) has unknown format \(s.format)")
            }
            if s.fileName == "~" || s.fileName == "-" {
                throw ECGFileError(file: path, problem: "signal \(i) has no signal file ('\(s.fileName)'); not supported")
            }
        }
        // Group the signals by file, in order of first appearance.
        var groups: [(file: String, channels: [Int])] = []
        for (i, s) in header.signals.enumerated() {
            if let g = groups.firstIndex(where: { $0.file == s.fileName }) {
                groups[g].channels.append(i)
            } else {
                groups.append((s.fileName, [i]))
            }
        }
        var leads = [LeadSignal?](repeating: nil, count: header.signals.count)
        var warnings: [String] = []
        var frameCount = header.frameCount
        var isMat = false
        for group in groups {
            let specs = group.channels.map { header.signals[$0] }
            let format = specs[0].format
            guard specs.allSatisfy({ $0.format == format }) else {
                throw ECGFileError(file: path, problem: "signals stored in '\(group.file)' have different formats")
            }
            let filePath = try WFDBHeader.signalFilePath(group.file, headerPath: path)
            let bytes = try load(group.file, filePath)
            let offset = specs[0].byteOffset
            if filePath.hasSuffix(".mat") || filePath.hasSuffix(".MAT") {
                isMat = true
                try checkMATLABHeader(bytes, specs: specs, file: filePath, warnings: &warnings)
            }
            guard offset <= bytes.count else {
                throw ECGFileError(file: filePath, problem: "byte offset \(offset) lies beyond the end of the \(bytes.count)-byte file")
            }
            let tspf = specs.reduce(0) { $0 + $1.samplesPerFrame }
            let capacity = WFDBSignalDecoder.sampleCapacity(format: format, byteCount: bytes.count - offset)
            let available = tspf > 0 ? capacity / tspf : 0
            let length = frameCount ?? available
            if frameCount == nil { frameCount = available }
            guard length <= available else {
                throw ECGFileError(
                    file: filePath,
                    problem: "truncated: holds \(available) frames of format \(format) but the header declares \(length) samples per signal")
            }
            let maxSkew = specs.map(\.skew).max() ?? 0
            let framesToRead = maxSkew >= available - length ? available : length + maxSkew
            let flatCount = framesToRead * tspf
            var flat = [Int32](repeating: 0, count: flatCount)
            try bytes.withUnsafeBufferPointer { raw in
                try flat.withUnsafeMutableBufferPointer { out in
                    try WFDBSignalDecoder.decode(
                        UnsafeBufferPointer(rebasing: raw[offset...]), format: format, count: flatCount, into: out, file: filePath)
                }
            }
            if format != 8 && specs.allSatisfy({ $0.samplesPerFrame == 1 && $0.skew == 0 }) {
                let simple = extractFrameMajor(flat: flat, length: length, specs: specs, format: format, channels: group.channels, warnings: &warnings)
                for (k, lead) in simple.enumerated() { leads[group.channels[k]] = lead }
                continue
            }
            var position = 0
            for (k, spec) in specs.enumerated() {
                let channel = group.channels[k]
                let lead = extract(
                    flat: flat, framesRead: framesToRead, tspf: tspf, position: position, length: length, spec: spec, format: format,
                    channel: channel, warnings: &warnings)
                leads[channel] = lead
                position += spec.samplesPerFrame
            }
        }
        let baseText = [header.baseTime, header.baseDate].compactMap { $0 }.joined(separator: " ")
        return ECGRecord(
            id: header.recordName, samplingRate: header.samplingFrequency, leads: leads.compactMap { $0 }, startTime: header.startDate,
            startTimeText: baseText.isEmpty ? nil : baseText, comments: header.comments, sourceFormat: isMat ? .wfdbMat : .wfdb,
            sourceURL: url, warnings: warnings)
    }

    /// The common layout (one sample per frame, no skew, not format 8): walks the flat samples
    /// once, in storage order, computing every signal's physical values, sums and checksum
    /// (which, without skew, is the sum modulo 2^16).
    private static func extractFrameMajor(
        flat: [Int32], length: Int, specs: [WFDBSignalSpec], format: Int, channels: [Int], warnings: inout [String]
    ) -> [LeadSignal] {
        let n = specs.count
        let invalid = WFDBSignalDecoder.invalidValue(format: format)
        var sums = [Int64](repeating: 0, count: n)
        var squares = [Int64](repeating: 0, count: n)
        let baselines = specs.map { Int32(clamping: $0.baseline) }
        let scales = specs.map { Float(1 / $0.gain) }
        var planar = [Float](repeating: 0, count: n * length)
        flat.withUnsafeBufferPointer { src in
            planar.withUnsafeMutableBufferPointer { out in
                sums.withUnsafeMutableBufferPointer { sum in
                    squares.withUnsafeMutableBufferPointer { sq in
                        baselines.withUnsafeBufferPointer { base in
                            scales.withUnsafeBufferPointer { scale in
                                guard let s = src.baseAddress, let o = out.baseAddress, let su = sum.baseAddress, let q = sq.baseAddress,
                                    let b = base.baseAddress, let g = scale.baseAddress
                                else { return }
                                var p = 0
                                for f in 0..<length {
                                    var dst = o + f
                                    for c in 0..<n {
                                        let d = s[p]
                                        p &+= 1
                                        let w = Int64(d)
                                        su[c] &+= w
                                        q[c] &+= w &* w
                                        let v = Float(d &- b[c]) * g[c]
                                        dst.pointee = d == invalid ? .nan : v
                                        dst += length
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        var result: [LeadSignal] = []
        result.reserveCapacity(n)
        for (c, spec) in specs.enumerated() {
            let start = c * length
            let samples = Array(planar[start..<(start + length)])
            let first = (0..<min(10, length)).map { flat[$0 * n + c] }
            let last = (max(0, length - 3)..<length).map { flat[$0 * n + c] }
            if let expected = spec.checksum, (Int64(expected) & 0xFFFF) != (sums[c] & 0xFFFF) {
                warnings.append(
                    "signal \(channels[c]) (\(spec.description)): checksum mismatch (header \(expected), computed \(Int16(truncatingIfNeeded: sums[c])))")
            }
            let adc = ADCInfo(
                gain: spec.gain, baseline: spec.baseline, format: formatName(format), sum: sums[c], sumOfSquares: squares[c], first: first,
                last: last)
            let name = spec.description.isEmpty ? "signal \(channels[c])" : spec.description
            result.append(LeadSignal(lead: Lead(parsing: name), writtenName: name, samples: samples, units: spec.units, adc: adc))
        }
        return result
    }

    /// Pulls one signal out of the decoded flat samples: skew, frame smoothing, statistics,
    /// checksum and physical conversion.
    private static func extract(
        flat: [Int32], framesRead: Int, tspf: Int, position: Int, length: Int, spec: WFDBSignalSpec, format: Int, channel: Int,
        warnings: inout [String]
    ) -> LeadSignal {
        let invalid = WFDBSignalDecoder.invalidValue(format: format)
        let spf = spec.samplesPerFrame
        let skew = spec.skew
        let baseline = Int32(clamping: spec.baseline)
        let scale = Float(1 / spec.gain)
        let name = spec.description.isEmpty ? "signal \(channel)" : spec.description
        if format != 8 && spf == 1 && skew == 0 {
            // The common case: one pass over the stored samples computes the physical values,
            // the sums and the checksum (which, without skew, is the sum modulo 2^16).
            var sum: Int64 = 0
            var sumSquares: Int64 = 0
            var first: [Int32] = []
            var last: [Int32] = []
            let physical = flat.withUnsafeBufferPointer { src -> [Float] in
                first = (0..<min(10, length)).map { src[$0 * tspf + position] }
                last = (max(0, length - 3)..<length).map { src[$0 * tspf + position] }
                return [Float](unsafeUninitializedCapacity: length) { out, initialized in
                    var p = position
                    for k in 0..<length {
                        let d = src[p]
                        p &+= tspf
                        let w = Int64(d)
                        sum &+= w
                        sumSquares &+= w &* w
                        let v = Float(d &- baseline) * scale
                        out[k] = d == invalid ? .nan : v
                    }
                    initialized = length
                }
            }
            if let expected = spec.checksum, (Int64(expected) & 0xFFFF) != (sum & 0xFFFF) {
                warnings.append(
                    "signal \(channel) (\(spec.description)): checksum mismatch (header \(expected), computed \(Int16(truncatingIfNeeded: sum)))")
            }
            let adc = ADCInfo(
                gain: spec.gain, baseline: spec.baseline, format: formatName(format), sum: sum, sumOfSquares: sumSquares, first: first,
                last: last)
            return LeadSignal(lead: Lead(parsing: name), writtenName: name, samples: physical, units: spec.units, adc: adc)
        }
        var digital = [Int32](repeating: invalid, count: length)
        var physical = [Float](repeating: .nan, count: length)
        var sum: Int64 = 0
        var sumSquares: Int64 = 0
        var checksum: Int64 = 0
        flat.withUnsafeBufferPointer { src in
            digital.withUnsafeMutableBufferPointer { dig in
                physical.withUnsafeMutableBufferPointer { phys in
                    if format == 8 {
                        // First differences → absolute values, integrated over the stored samples.
                        // Stored values are integrated in place into a copy for this signal.
                        var running = Int64(spec.initialValue)
                        var expanded = [Int32](repeating: 0, count: framesRead * spf)
                        for f in 0..<framesRead {
                            for j in 0..<spf {
                                running &+= Int64(src[f * tspf + position + j])
                                expanded[f * spf + j] = Int32(truncatingIfNeeded: running)
                            }
                        }
                        for f in 0..<min(length, framesRead) {
                            for j in 0..<spf { checksum &+= Int64(expanded[f * spf + j]) }
                        }
                        fill(length: length, framesRead: framesRead, spf: spf, skew: skew, invalid: invalid, dig: dig) { f, j in
                            expanded[f * spf + j]
                        }
                    } else {
                        for f in 0..<min(length, framesRead) {
                            for j in 0..<spf { checksum &+= Int64(src[f * tspf + position + j]) }
                        }
                        if spf == 1 && skew == 0 {
                            var p = position
                            for k in 0..<length {
                                dig[k] = src[p]
                                p += tspf
                            }
                        } else {
                            fill(length: length, framesRead: framesRead, spf: spf, skew: skew, invalid: invalid, dig: dig) { f, j in
                                src[f * tspf + position + j]
                            }
                        }
                    }
                    for k in 0..<length {
                        let d = dig[k]
                        let w = Int64(d)
                        sum &+= w
                        sumSquares &+= w &* w
                        if d != invalid { phys[k] = Float(d &- baseline) * scale }
                    }
                }
            }
        }
        if let expected = spec.checksum, (Int64(expected) & 0xFFFF) != (checksum & 0xFFFF) {
            warnings.append(
                "signal \(channel) (\(spec.description)): checksum mismatch (header \(expected), computed \(Int16(truncatingIfNeeded: checksum)))")
        }
        let adc = ADCInfo(
            gain: spec.gain, baseline: spec.baseline, format: formatName(format), sum: sum, sumOfSquares: sumSquares,
            first: Array(digital.prefix(10)), last: Array(digital.suffix(3)))
        return LeadSignal(lead: Lead(parsing: name), writtenName: name, samples: physical, units: spec.units, adc: adc)
    }

    /// The format's name as written in headers (`"16"`), without formatting overhead for the common ones.
    private static func formatName(_ format: Int) -> String {
        switch format {
        case 16: "16"
        case 212: "212"
        default: String(format)
        }
    }

    /// Fills `dig` with the skewed, frame-averaged samples given by `sample(frame, j)`;
    /// frames past the file's end are invalid.
    @inline(__always)
    private static func fill(
        length: Int, framesRead: Int, spf: Int, skew: Int, invalid: Int32, dig: UnsafeMutableBufferPointer<Int32>,
        sample: (Int, Int) -> Int32
    ) {
        for k in 0..<length {
            let (f, overflow) = k.addingReportingOverflow(skew)
            guard !overflow, f < framesRead else {
                dig[k] = invalid
                continue
            }
            if spf == 1 {
                dig[k] = sample(f, 0)
            } else {
                var total: Int64 = 0
                for j in 0..<spf { total += Int64(sample(f, j)) }
                dig[k] = Int32(truncatingIfNeeded: total / Int64(spf))
            }
        }
    }

    /// Checks the MATLAB v4 matrix header of a CinC-style `.mat` signal file.
    private static func checkMATLABHeader(_ bytes: [UInt8], specs: [WFDBSignalSpec], file: String, warnings: inout [String]) throws {
        guard specs[0].byteOffset >= 20 else { return }
        guard bytes.count >= 20 else {
            throw ECGFileError(file: file, problem: "too short for a MATLAB v4 matrix header (\(bytes.count) bytes)")
        }
        func le32(_ p: Int) -> Int { Int(UInt32(bytes[p]) | UInt32(bytes[p + 1]) << 8 | UInt32(bytes[p + 2]) << 16 | UInt32(bytes[p + 3]) << 24) }
        let type = le32(0)
        let expectedType: Int? =
            switch specs[0].format {
            case 16: 30
            case 32: 20
            case 80: 50
            default: nil
            }
        if let t = expectedType, type != t {
            throw ECGFileError(file: file, problem: "MATLAB v4 matrix type \(type) does not match WFDB format \(specs[0].format) (expected \(t))")
        }
        let rows = le32(4)
        let tspf = specs.reduce(0) { $0 + $1.samplesPerFrame }
        if rows != tspf {
            warnings.append("\(file): MATLAB matrix has \(rows) rows but the header describes \(tspf) samples per frame")
        }
    }
}
