// libFuzzer entry points for kmerl's readers. Built by Fuzz/run.sh (swiftc -sanitize=fuzzer,address),
// one binary per target chosen with -D: FUZZ_WFDB_HEADER, FUZZ_WFDB_SIGNAL, FUZZ_AECG, FUZZ_CSV.
// Any crash, sanitizer report or uncaught trap is a finding; typed errors are the expected outcome.
import Foundation

#if FUZZ_WFDB_HEADER
    /// The WFDB header parser on arbitrary bytes.
    @_cdecl("LLVMFuzzerTestOneInput")
    public func fuzzWFDBHeader(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
        let bytes = Array(UnsafeBufferPointer(start: data, count: size))
        if let header = try? WFDBHeader.parse(bytes, file: "fuzz.hea") {
            _ = header.startDate
            for s in header.signals { _ = try? WFDBHeader.signalFilePath(s.fileName, headerPath: "/fuzz/r.hea") }
        }
        return 0
    }
#endif

#if FUZZ_WFDB_SIGNAL
    /// Header text up to the first NUL byte, then the bytes of every signal file it names:
    /// exercises formats, skew, samples per frame, byte offsets, lengths and checksums together.
    /// Without a NUL byte, the first byte picks a format and the rest is decoded directly.
    @_cdecl("LLVMFuzzerTestOneInput")
    public func fuzzWFDBSignal(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
        let bytes = Array(UnsafeBufferPointer(start: data, count: size))
        if let nul = bytes.firstIndex(of: 0) {
            let headerBytes = Array(bytes[..<nul])
            let signal = Array(bytes[(nul + 1)...])
            guard let header = try? WFDBHeader.parse(headerBytes, file: "fuzz.hea") else { return 0 }
            if let record = try? WFDBReader.read(header: header, url: nil, path: "/fuzz/r.hea", load: { _, _ in signal }) {
                _ = RecordSummary(record: record)
            }
        } else if let first = bytes.first {
            let formats = [8, 16, 61, 80, 160, 212, 310, 311, 24, 32]
            let format = formats[Int(first) % formats.count]
            let payload = Array(bytes.dropFirst())
            let count = WFDBSignalDecoder.sampleCapacity(format: format, byteCount: payload.count)
            var out = [Int32](repeating: 0, count: count)
            payload.withUnsafeBufferPointer { buffer in
                out.withUnsafeMutableBufferPointer { o in
                    _ = try? WFDBSignalDecoder.decode(buffer, format: format, count: count, into: o)
                }
            }
        }
        return 0
    }
#endif

#if FUZZ_AECG
    /// The HL7 aECG reader (libxml2 + XPath) on arbitrary bytes.
    @_cdecl("LLVMFuzzerTestOneInput")
    public func fuzzAECG(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
        let bytes = Array(UnsafeBufferPointer(start: data, count: size))
        if let record = try? AECGReader.read(bytes: bytes, file: "fuzz.xml", id: "fuzz") {
            _ = RecordSummary(record: record)
        }
        return 0
    }
#endif

#if FUZZ_CSV
    /// The CSV reader on arbitrary bytes.
    @_cdecl("LLVMFuzzerTestOneInput")
    public func fuzzCSV(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
        let bytes = Array(UnsafeBufferPointer(start: data, count: size))
        _ = try? ECGCSVReader.read(bytes: bytes, file: "fuzz.csv", id: "fuzz", samplingRate: nil)
        _ = try? ECGCSVReader.read(bytes: bytes, file: "fuzz.csv", id: "fuzz", samplingRate: 500)
        return 0
    }
#endif
