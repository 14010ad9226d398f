import ECGCore
import Foundation
import Knowledge
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One regular file seen in the inbox.
public struct InboxFile: Sendable, Hashable {
    /// Path relative to the inbox.
    public var path: String
    /// Size in bytes.
    public var size: Int64
    /// Modification time in nanoseconds since 1970.
    public var mtimeNanoseconds: Int64

    /// A file from its parts.
    public init(path: String, size: Int64, mtimeNanoseconds: Int64) {
        self.path = path
        self.size = size
        self.mtimeNanoseconds = mtimeNanoseconds
    }
}

/// A record found in the inbox: its primary file and all files that belong to it.
public struct InboxRecord: Sendable, Hashable {
    /// The primary file's path relative to the inbox: the record's identity in the ledger.
    public var key: String
    /// The record's name (WFDB record name, file stem otherwise).
    public var name: String
    /// The inbox folder.
    public var inbox: URL
    /// All files of the record, relative to the inbox, sorted.
    public var files: [String]
    /// Hash over the record's file names and contents (empty until hashed).
    public var contentHash: String

    /// A record from its parts.
    public init(key: String, name: String, inbox: URL, files: [String], contentHash: String = "") {
        self.key = key
        self.name = name
        self.inbox = inbox
        self.files = files
        self.contentHash = contentHash
    }

    /// The primary file (a WFDB header, an XML or CSV file).
    public var primary: URL { inbox.appendingPathComponent(key) }

    /// All files of the record.
    public var fileURLs: [URL] { files.map { inbox.appendingPathComponent($0) } }
}

/// Groups the inbox's files into records; `waiting` are files that cannot form a complete record
/// yet (a header whose signal files are not all there), `ignored` are files that are no ECG.
public struct InboxGrouping: Sendable {
    /// Complete records.
    public var records: [InboxRecord]
    /// Incomplete records, left for a later run.
    public var waiting: [Diagnostic]
    /// Files that are not ECG records.
    public var ignored: [Diagnostic]

    /// A grouping from its parts.
    public init(records: [InboxRecord], waiting: [Diagnostic], ignored: [Diagnostic]) {
        self.records = records
        self.waiting = waiting
        self.ignored = ignored
    }
}

/// How files are grouped into records: the built-in WFDB-aware grouping below, or the
/// formats library's record discovery.
public typealias InboxGrouper = @Sendable (_ inbox: URL, _ files: [String: InboxFile]) -> InboxGrouping

/// The outcome of looking at the inbox.
public struct InboxScan: Sendable {
    /// New or changed records, stable and hashed: to be processed.
    public var toProcess: [InboxRecord]
    /// Records that failed before, are unchanged, and are reported again without a retry.
    public var carried: [InboxRecord]
    /// Number of records already processed and unchanged.
    public var unchanged: Int
    /// Records left for a later run (still being written, too recent, incomplete).
    public var waiting: [Diagnostic]
    /// Files that are not ECG records.
    public var ignored: [Diagnostic]
    /// Number of files hashed in this scan.
    public var hashedFiles: Int
}

/// Looks at the inbox: which records are new or changed, complete and no longer being written.
///
/// Unchanged files are recognised by size and modification time against the ledger's hash memo
/// and are never re-read. A new or changed record is taken only when every file is older than
/// `minimumAge`, and size and time of every file are the same in two looks `settleInterval`
/// apart and again after hashing.
public struct InboxScanner: Sendable {
    /// The inbox folder.
    public var inbox: URL
    /// Files modified more recently than this (seconds) are left for the next run.
    public var minimumAge: TimeInterval
    /// Pause between the two looks at new or changed files (seconds).
    public var settleInterval: TimeInterval
    /// Reprocess records that failed before even when unchanged.
    public var retryFailed: Bool
    /// How files form records.
    public var grouper: InboxGrouper

    /// A scanner with the built-in WFDB-aware grouping by default.
    public init(
        inbox: URL, minimumAge: TimeInterval = 60, settleInterval: TimeInterval = 2, retryFailed: Bool = false,
        grouper: @escaping InboxGrouper = InboxScanner.groupRecords
    ) {
        self.inbox = inbox
        self.minimumAge = minimumAge
        self.settleInterval = settleInterval
        self.retryFailed = retryFailed
        self.grouper = grouper
    }

    /// Scans the inbox against the ledger; newly computed file hashes are saved in the ledger.
    public func scan(ledger: NightlyLedger, now: Date = Date()) async throws -> InboxScan {
        let inboxKey = inbox.path
        let files = try InboxScanner.listFiles(in: inbox)
        let grouping = grouper(inbox, files)
        let memo = try ledger.fileStamps(inbox: inboxKey)
        let entries = try ledger.entries(inbox: inboxKey)

        var waiting = grouping.waiting
        var toProcess: [InboxRecord] = []
        var carried: [InboxRecord] = []
        var unchanged = 0
        var candidates: [InboxRecord] = []
        let newestAllowed = Int64((now.timeIntervalSince1970 - minimumAge) * 1e9)

        func judge(_ record: InboxRecord) {
            let entry = entries[record.key]
            if let entry, entry.contentHash == record.contentHash {
                if entry.status == .ok {
                    unchanged += 1
                } else if retryFailed {
                    toProcess.append(record)
                } else {
                    carried.append(record)
                }
            } else {
                toProcess.append(record)
            }
        }

        for record in grouping.records {
            var hashes: [String] = []
            for path in record.files {
                guard let file = files[path], let stamp = memo[path],
                      stamp.size == file.size, stamp.mtimeNanoseconds == file.mtimeNanoseconds
                else { break }
                hashes.append(stamp.sha256)
            }
            if hashes.count == record.files.count {
                var known = record
                known.contentHash = InboxScanner.recordHash(record, fileHashes: hashes)
                judge(known)
                continue
            }
            if let recent = record.files.compactMap({ files[$0] }).first(where: { $0.mtimeNanoseconds > newestAllowed }) {
                let age = max(0, now.timeIntervalSince1970 - Double(recent.mtimeNanoseconds) / 1e9)
                waiting.append(Diagnostic(
                    severity: .note, file: record.key,
                    message: "left for the next run: \(recent.path) was modified \(String(format: "%.1f", age)) s ago (minimum age \(Int(minimumAge)) s)"))
                continue
            }
            candidates.append(record)
        }

        var hashedFiles = 0
        if !candidates.isEmpty {
            if settleInterval > 0 { try await Task.sleep(nanoseconds: UInt64(settleInterval * 1e9)) }
            var fresh: [String: NightlyFileStamp] = [:]
            for record in candidates {
                if let moved = InboxScanner.firstChange(record, files: files, inbox: inbox) {
                    waiting.append(Diagnostic(severity: .note, file: record.key, message: "left for the next run: \(moved) is still being written"))
                    continue
                }
                var hashes: [String] = []
                var stamps: [String: NightlyFileStamp] = [:]
                for path in record.files {
                    guard let file = files[path] else { continue }
                    if let stamp = memo[path], stamp.size == file.size, stamp.mtimeNanoseconds == file.mtimeNanoseconds {
                        hashes.append(stamp.sha256)
                    } else {
                        let hash = try SHA256Digest.hex(ofFile: inbox.appendingPathComponent(path))
                        hashedFiles += 1
                        hashes.append(hash)
                        stamps[path] = NightlyFileStamp(size: file.size, mtimeNanoseconds: file.mtimeNanoseconds, sha256: hash)
                    }
                }
                if let moved = InboxScanner.firstChange(record, files: files, inbox: inbox) {
                    waiting.append(Diagnostic(severity: .note, file: record.key, message: "left for the next run: \(moved) changed while it was read"))
                    continue
                }
                fresh.merge(stamps) { $1 }
                var hashed = record
                hashed.contentHash = InboxScanner.recordHash(record, fileHashes: hashes)
                judge(hashed)
            }
            try ledger.saveFileStamps(inbox: inboxKey, fresh)
        }
        toProcess.sort { $0.key < $1.key }
        carried.sort { $0.key < $1.key }
        waiting.sort { $0.file < $1.file }
        return InboxScan(
            toProcess: toProcess, carried: carried, unchanged: unchanged, waiting: waiting,
            ignored: grouping.ignored, hashedFiles: hashedFiles)
    }

    /// The record's hash: SHA-256 over its files' names (relative to the primary's folder) and
    /// content hashes, in name order.
    static func recordHash(_ record: InboxRecord, fileHashes: [String]) -> String {
        let folder = record.key.lastIndex(of: "/").map { String(record.key[..<$0]) } ?? ""
        var text = ""
        for (path, hash) in zip(record.files, fileHashes) {
            let name = folder.isEmpty ? path : String(path.dropFirst(folder.count + 1))
            text += "\(name)\t\(hash)\n"
        }
        return SHA256Digest.hex(of: Array(text.utf8))
    }

    /// The first file of `record` whose size or time differs from `files` now, or that is gone.
    static func firstChange(_ record: InboxRecord, files: [String: InboxFile], inbox: URL) -> String? {
        for path in record.files {
            guard let before = files[path] else { return path }
            guard let now = InboxScanner.look(inbox.appendingPathComponent(path).path, relative: path),
                  now.size == before.size, now.mtimeNanoseconds == before.mtimeNanoseconds
            else { return path }
        }
        return nil
    }

    /// Size and time of one file (following symbolic links); nil when it is not a regular file.
    static func look(_ path: String, relative: String) -> InboxFile? {
        var info = Glibc.stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return InboxFile(
            path: relative, size: Int64(info.st_size),
            mtimeNanoseconds: Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec))
    }

    /// Every regular file under `inbox` (recursively; hidden files and folders skipped) by
    /// relative path. Uses `readdir`/`fstatat` directly: this is the whole cost of a night with
    /// nothing new.
    public static func listFiles(in inbox: URL) throws -> [String: InboxFile] {
        var result: [String: InboxFile] = [:]
        var pending: [String] = [""]
        let root = inbox.path
        var rootInfo = Glibc.stat()
        guard stat(root, &rootInfo) == 0, (rootInfo.st_mode & S_IFMT) == S_IFDIR else {
            throw NightlyError(path: root, problem: "the inbox is not a readable folder")
        }
        while let relative = pending.popLast() {
            let folder = relative.isEmpty ? root : root + "/" + relative
            guard let directory = opendir(folder) else {
                throw NightlyError(path: folder, problem: "cannot list: \(String(cString: strerror(errno)))")
            }
            defer { closedir(directory) }
            let fd = dirfd(directory)
            while let entry = readdir(directory) {
                let name = withUnsafePointer(to: entry.pointee.d_name) { pointer in
                    pointer.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
                }
                if name.hasPrefix(".") { continue }
                var info = Glibc.stat()
                guard fstatat(fd, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
                let path = relative.isEmpty ? name : relative + "/" + name
                var kind = info.st_mode & S_IFMT
                if kind == S_IFLNK {
                    // Follow links to files; never links to folders (no cycles).
                    guard fstatat(fd, name, &info, 0) == 0 else { continue }
                    kind = info.st_mode & S_IFMT
                    if kind == S_IFDIR { continue }
                }
                if kind == S_IFDIR {
                    pending.append(path)
                } else if kind == S_IFREG {
                    result[path] = InboxFile(
                        path: path, size: Int64(info.st_size),
                        mtimeNanoseconds: Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec))
                }
            }
        }
        return result
    }

    /// The bytes of a small file (a header: at most 1 MiB read), with plain `read(2)`.
    static func readSmallFile(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while result.count < 1 << 20 {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, 4096) }
            if count < 0 { return nil }
            if count == 0 { break }
            result.append(contentsOf: chunk[0..<count])
        }
        return result
    }

    /// The built-in grouping: a WFDB header with the signal files it names and the files that
    /// share its record name (annotations); an XML or CSV file on its own. A header whose signal
    /// files are not all there, and a `.dat`/`.mat` without a header, wait for a later run.
    public static func groupRecords(inbox: URL, files: [String: InboxFile]) -> InboxGrouping {
        var byFolder: [String: [String]] = [:]
        for path in files.keys {
            if let slash = path.lastIndex(of: "/") {
                byFolder[String(path[..<slash]), default: []].append(String(path[path.index(after: slash)...]))
            } else {
                byFolder["", default: []].append(path)
            }
        }
        var records: [InboxRecord] = []
        var waiting: [Diagnostic] = []
        var ignored: [Diagnostic] = []
        var claimed = Set<String>()
        func join(_ folder: String, _ name: String) -> String { folder.isEmpty ? name : folder + "/" + name }

        for (folder, names) in byFolder {
            let present = Set(names)
            // Files by record name (stem), so that annotation files are found without a scan per header.
            var byStem: [Substring: [String]] = [:]
            for name in names {
                let stem = name.lastIndex(of: ".").map { name[..<$0] } ?? name[...]
                byStem[stem, default: []].append(name)
            }
            for header in names.sorted() where header.lowercased().hasSuffix(".hea") {
                let key = join(folder, header)
                guard let bytes = InboxScanner.readSmallFile(inbox.path + "/" + key),
                      let parsed = WFDBHeaderFiles(bytes: bytes)
                else {
                    // Unreadable header: a record on its own; processing reports why.
                    records.append(InboxRecord(key: key, name: (header as NSString).deletingPathExtension, inbox: inbox, files: [key]))
                    claimed.insert(key)
                    continue
                }
                var members = Set([header])
                var missing: [String] = []
                var referenced = parsed.signalFiles
                for segment in parsed.segments {
                    let segmentHeader = segment + ".hea"
                    if present.contains(segmentHeader) {
                        members.insert(segmentHeader)
                        if let segmentBytes = InboxScanner.readSmallFile(inbox.path + "/" + join(folder, segmentHeader)),
                           let segmentFiles = WFDBHeaderFiles(bytes: segmentBytes) {
                            referenced += segmentFiles.signalFiles
                        }
                    } else {
                        missing.append(segmentHeader)
                    }
                }
                for file in referenced {
                    if present.contains(file) { members.insert(file) } else { missing.append(file) }
                }
                for name in byStem[parsed.recordName[...]] ?? [] where !name.lowercased().hasSuffix(".hea") {
                    members.insert(name)
                }
                let paths = members.map { join(folder, $0) }
                claimed.formUnion(paths)
                if !missing.isEmpty {
                    waiting.append(Diagnostic(
                        severity: .note, file: key,
                        message: "left for the next run: WFDB header names \(Set(missing).sorted().joined(separator: ", ")), not there yet"))
                    continue
                }
                records.append(InboxRecord(key: key, name: parsed.recordName, inbox: inbox, files: paths.sorted()))
            }
        }
        for (path, _) in files where !claimed.contains(path) {
            let ext = (path as NSString).pathExtension.lowercased()
            switch ext {
            case "xml", "csv":
                let name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
                records.append(InboxRecord(key: path, name: name, inbox: inbox, files: [path]))
            case "dat", "mat":
                waiting.append(Diagnostic(severity: .note, file: path, message: "left for the next run: signal file without a WFDB header"))
            default:
                ignored.append(Diagnostic(severity: .note, file: path, message: "not an ECG record file; ignored"))
            }
        }
        records.sort { $0.key < $1.key }
        return InboxGrouping(records: records, waiting: waiting, ignored: ignored.sorted { $0.file < $1.file })
    }
}

/// The files a WFDB header refers to: its record name, signal files and segment records.
struct WFDBHeaderFiles {
    var recordName: String
    var signalFiles: [String] = []
    var segments: [String] = []
    /// Number of signals and samples per signal (when the header gives them).
    var signalCount: Int
    var samplesPerSignal: Int?
    /// Storage format per signal line, with the file it is in.
    var formats: [(file: String, format: String)] = []

    /// Parses header text.
    init?(text: String) {
        self.init(bytes: Array(text.utf8))
    }

    /// Parses header bytes. Works on bytes, not characters: this runs for every header of the
    /// inbox on every night.
    init?<Bytes: RandomAccessCollection>(bytes: Bytes) where Bytes.Element == UInt8, Bytes.Index == Int {
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0D }
        var lines: [[ArraySlice<UInt8>]] = []
        let all = Array(bytes)
        var lineStart = 0
        while lineStart < all.count {
            var lineEnd = lineStart
            while lineEnd < all.count && all[lineEnd] != 0x0A { lineEnd += 1 }
            var tokens: [ArraySlice<UInt8>] = []
            var i = lineStart
            while i < lineEnd {
                while i < lineEnd && isSpace(all[i]) { i += 1 }
                let tokenStart = i
                while i < lineEnd && !isSpace(all[i]) { i += 1 }
                if i > tokenStart { tokens.append(all[tokenStart..<i]) }
            }
            if let first = tokens.first, first.first != UInt8(ascii: "#") { lines.append(tokens) }
            lineStart = lineEnd + 1
        }
        func text(_ token: ArraySlice<UInt8>) -> String { String(decoding: token, as: UTF8.self) }
        guard let recordLine = lines.first, recordLine.count >= 2 else { return nil }
        let nameField = recordLine[0]
        let slash = nameField.firstIndex(of: UInt8(ascii: "/"))
        recordName = text(slash.map { nameField[nameField.startIndex..<$0] } ?? nameField)
        guard let count = Int(text(recordLine[1])) else { return nil }
        signalCount = count
        samplesPerSignal = recordLine.count >= 4 ? Int(text(recordLine[3])) : nil
        if let slash, let segmentCount = Int(text(nameField[(slash + 1)...])) {
            for line in lines.dropFirst().prefix(segmentCount) {
                let name = text(line[0])
                if name != "~" { segments.append(name) }
            }
            return
        }
        for line in lines.dropFirst().prefix(count) {
            let file = text(line[0])
            if file != "~", !signalFiles.contains(file) { signalFiles.append(file) }
            formats.append((file, line.count > 1 ? text(line[1]) : "16"))
        }
        guard formats.count == count else { return nil }
    }
}
