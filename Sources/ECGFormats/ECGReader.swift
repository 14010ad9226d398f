import ECGCore
import Foundation

/// Options for `ECGReader.read`.
public struct ReadOptions: Sendable {
    /// Sampling rate for CSV files without a time column (overrides the time column when set).
    public var csvSamplingRate: Double?

    /// Options with the given CSV sampling rate.
    public init(csvSamplingRate: Double? = nil) {
        self.csvSamplingRate = csvSamplingRate
    }
}

/// Reads an ECG file of any supported format, chosen by its extension.
public enum ECGReader {
    /// Reads the record at `url`: `.hea` → WFDB (a `.dat`/`.mat` signal file is read through the
    /// header beside it), `.xml` → HL7 aECG, `.csv` → CSV.
    public static func read(_ url: URL, options: ReadOptions = ReadOptions()) throws -> ECGRecord {
        switch url.pathExtension.lowercased() {
        case "hea":
            return try WFDBReader.read(header: url)
        case "dat", "mat":
            let header = url.deletingPathExtension().appendingPathExtension("hea")
            guard FileManager.default.fileExists(atPath: header.path) else {
                throw ECGFileError(file: url.path, problem: "WFDB signal file without a header (\(header.lastPathComponent) not found)")
            }
            return try WFDBReader.read(header: header)
        case "xml":
            return try AECGReader.read(url)
        case "csv":
            return try ECGCSVReader.read(url, samplingRate: options.csvSamplingRate)
        default:
            throw ECGFileError(file: url.path, problem: "unknown file type '.\(url.pathExtension)' (expected .hea, .xml or .csv)")
        }
    }
}
