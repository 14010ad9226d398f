import ECGCore
import Foundation

/// A record found on disk: its id, the file to read it from, and every file that belongs to it.
public struct DiscoveredRecord: Sendable, Hashable {
    /// The record's id (WFDB record name, file stem otherwise).
    public var id: String
    /// The file to hand to `ECGReader.read` (the `.hea` for WFDB).
    public var primary: URL
    /// The record's format.
    public var format: SourceFormat
    /// Every file that belongs to the record: the primary file, WFDB signal files and annotation
    /// files with the same stem.
    public var files: [URL]

    /// A discovered record.
    public init(id: String, primary: URL, format: SourceFormat, files: [URL]) {
        self.id = id
        self.primary = primary
        self.format = format
        self.files = files
    }
}

/// The outcome of discovery: the records found and the files skipped, with reasons.
public struct DiscoveryResult: Sendable {
    /// Records, sorted by the path of their primary file.
    public var records: [DiscoveredRecord]
    /// Files or paths that are not (readable) records, each with the reason.
    public var skipped: [Diagnostic]

    /// A discovery result.
    public init(records: [DiscoveredRecord] = [], skipped: [Diagnostic] = []) {
        self.records = records
        self.skipped = skipped
    }
}

/// Finds ECG records in files and folders (recursively).
///
/// A WFDB record is found by its `.hea` (skipped, naming the file, when a signal file is missing
/// or the header cannot be parsed); an HL7 aECG by a `.xml` file whose root is in the HL7 v3
/// namespace; CSV by `.csv`. Everything else is listed as skipped with a reason.
public enum RecordDiscovery {
    /// Discovers the records in `paths` (files or folders).
    public static func discover(_ paths: [URL]) -> DiscoveryResult {
        var files: [URL] = []
        var skipped: [Diagnostic] = []
        var seen = Set<String>()
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path.path, isDirectory: &isDirectory) else {
                skipped.append(Diagnostic(severity: .error, file: path.path, message: "no such file or folder"))
                continue
            }
            if isDirectory.boolValue {
                guard
                    let enumerator = FileManager.default.enumerator(
                        at: path, includingPropertiesForKeys: [.isRegularFileKey], options: [.skipsHiddenFiles])
                else {
                    skipped.append(Diagnostic(severity: .error, file: path.path, message: "cannot list the folder"))
                    continue
                }
                for case let url as URL in enumerator {
                    let regular = (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) ?? false
                    if regular, seen.insert(url.standardizedFileURL.path).inserted { files.append(url) }
                }
            } else {
                // A signal file named directly stands for its record when the header lies beside it.
                var file = path
                if ["dat", "mat"].contains(path.pathExtension.lowercased()) {
                    let header = path.deletingPathExtension().appendingPathExtension("hea")
                    if FileManager.default.fileExists(atPath: header.path) { file = header }
                }
                if seen.insert(file.standardizedFileURL.path).inserted { files.append(file) }
            }
        }
        files.sort { $0.path < $1.path }

        var records: [DiscoveredRecord] = []
        var claimed = Set<String>()
        // Files by folder and stem, to find annotation files with the same stem as a header.
        var byStem: [String: [URL]] = [:]
        for url in files { byStem[stemKey(url), default: []].append(url) }

        for url in files where url.pathExtension.lowercased() == "hea" {
            let key = url.standardizedFileURL.path
            claimed.insert(key)
            let header: WFDBHeader
            do {
                header = try WFDBHeader(contentsOf: url)
            } catch {
                skipped.append(Diagnostic(severity: .error, file: url.path, message: "unreadable WFDB header: \(message(error))"))
                continue
            }
            if let segments = header.segmentCount {
                skipped.append(
                    Diagnostic(severity: .error, file: url.path, message: "multi-segment record (\(segments) segments) is not supported"))
                continue
            }
            var recordFiles = [url]
            var problem: String?
            var isMat = false
            for name in Set(header.signals.map(\.fileName)).sorted() {
                do {
                    let signal = try WFDBHeader.signalFileURL(name, headerURL: url)
                    guard FileManager.default.fileExists(atPath: signal.path) else {
                        problem = "signal file '\(name)' is missing"
                        break
                    }
                    if signal.pathExtension.lowercased() == "mat" { isMat = true }
                    recordFiles.append(signal)
                } catch {
                    problem = message(error)
                    break
                }
            }
            if let problem {
                skipped.append(Diagnostic(severity: .error, file: url.path, message: problem))
                continue
            }
            let signalPaths = Set(recordFiles.map(\.standardizedFileURL.path))
            for other in byStem[stemKey(url)] ?? [] {
                let otherPath = other.standardizedFileURL.path
                guard !signalPaths.contains(otherPath) else { continue }
                let ext = other.pathExtension.lowercased()
                guard !["hea", "xml", "csv", "json", "md", "txt", "py"].contains(ext) else { continue }
                recordFiles.append(other)
            }
            for f in recordFiles { claimed.insert(f.standardizedFileURL.path) }
            records.append(DiscoveredRecord(id: header.recordName, primary: url, format: isMat ? .wfdbMat : .wfdb, files: recordFiles))
        }
        for url in files {
            let key = url.standardizedFileURL.path
            guard !claimed.contains(key) else { continue }
            let stem = url.deletingPathExtension().lastPathComponent
            switch url.pathExtension.lowercased() {
            case "xml":
                if isAECG(url) {
                    records.append(DiscoveredRecord(id: stem, primary: url, format: .hl7aECG, files: [url]))
                } else {
                    skipped.append(Diagnostic(severity: .note, file: url.path, message: "XML file that is not an HL7 aECG document (no AnnotatedECG in urn:hl7-org:v3)"))
                }
            case "csv":
                records.append(DiscoveredRecord(id: stem, primary: url, format: .csv, files: [url]))
            case "dat", "mat":
                skipped.append(Diagnostic(severity: .warning, file: url.path, message: "signal file without a WFDB header (.hea) that names it"))
            default:
                skipped.append(
                    Diagnostic(severity: .note, file: url.path, message: "not an ECG record file (expected .hea, HL7 aECG .xml or .csv)"))
            }
        }
        records.sort { $0.primary.path < $1.primary.path }
        skipped.sort { $0.file < $1.file }
        return DiscoveryResult(records: records, skipped: skipped)
    }

    /// `folder/stem` of a file (the name up to its last dot).
    private static func stemKey(_ url: URL) -> String {
        let path = url.standardizedFileURL.path
        guard let slash = path.lastIndex(of: "/") else { return path }
        if let dot = path[slash...].lastIndex(of: "."), dot > path.index(after: slash) { return String(path[..<dot]) }
        return path
    }

    private static func message(_ error: any Error) -> String {
        if let e = error as? ECGFileError { return e.problem }
        return String(describing: error)
    }

    /// Whether `url` starts like an HL7 aECG document (reads at most 8 KiB).
    static func isAECG(_ url: URL) -> Bool {
        guard let handle = try? FileHandle(forReadingFrom: url) else { return false }
        defer { try? handle.close() }
        guard let data = try? handle.read(upToCount: 8192) else { return false }
        return AECGReader.looksLikeAECG(prefix: ArraySlice(data))
    }
}
