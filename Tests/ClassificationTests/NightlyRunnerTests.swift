import ECGCore
import Foundation
import KMERLTestSupport
import Knowledge
import Testing

@testable import Classification

/// Inboxes of real records and helpers shared by the nightly tests.
enum NightlyFixtures {
    /// A fresh inbox holding copies (writable) of LUDB records `ludb` and the first `ptbxl`
    /// PTB-XL records of `records100/00000`.
    static func inbox(ludb: [Int] = [], ptbxl: Int = 0, into folder: URL? = nil) throws -> URL {
        let inbox = try folder ?? SharedData.temporaryDirectory("kmerl-nightly-inbox")
        let manager = FileManager.default
        try manager.createDirectory(at: inbox, withIntermediateDirectories: true)
        var sources: [URL] = []
        let ludbFolder = try SharedData.url("ludb/data")
        let ludbNames = try manager.contentsOfDirectory(atPath: ludbFolder.path)
        for number in ludb {
            sources += ludbNames.filter { ($0 as NSString).deletingPathExtension == String(number) }
                .map { ludbFolder.appendingPathComponent($0) }
        }
        if ptbxl > 0 {
            let folder = try SharedData.url("ptbxl/records100/00000")
            let stems = Set(try manager.contentsOfDirectory(atPath: folder.path).map { ($0 as NSString).deletingPathExtension }).sorted()
            for stem in stems.prefix(ptbxl) {
                sources += ["hea", "dat"].map { folder.appendingPathComponent("\(stem).\($0)") }
            }
        }
        for source in sources { try copy(source, to: inbox.appendingPathComponent(source.lastPathComponent)) }
        return inbox
    }

    /// Copies a file and makes the copy writable (the shared data are read-only).
    static func copy(_ source: URL, to target: URL) throws {
        try FileManager.default.copyItem(at: source, to: target)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: target.path)
    }

    /// Marks `records` processed through a committed run (as a successful night would).
    static func commit(_ records: [InboxRecord], ledger: NightlyLedger, inbox: URL) throws {
        let planned = records.map { NightlyPlannedRecord(recordKey: $0.key, contentHash: $0.contentHash, files: $0.files) }
        let id = try ledger.beginRun(
            reports: "/nowhere", inbox: inbox.path, startedAt: Date(), night: "2026-01-01", directory: UUID().uuidString,
            planned: planned, carried: [], waiting: 0, archiveDirectory: nil)
        try ledger.recordOutcomes(runID: id, records.map { NightlyOutcomeRow(recordKey: $0.key, kind: .ok) })
        try ledger.commitRun(runID: id, finishedAt: Date())
    }

    /// Record ids found in the `summary.csv` of every night folder, with how often each occurs,
    /// restricted to rows with status `ok`.
    static func reportedRecords(in reports: URL) throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for night in try nightFolders(in: reports) {
            let text = try String(contentsOf: reports.appendingPathComponent(night).appendingPathComponent("summary.csv"), encoding: .utf8)
            let lines = text.split(separator: "\n").map(String.init)
            guard let header = lines.first?.split(separator: ",").map(String.init),
                  let idColumn = header.firstIndex(of: "record_id"), let statusColumn = header.firstIndex(of: "status")
            else { continue }
            for line in lines.dropFirst() {
                let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                if fields[statusColumn] == "ok" { counts[fields[idColumn], default: 0] += 1 }
            }
        }
        return counts
    }

    /// The visible night folders, sorted.
    static func nightFolders(in reports: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: reports.path)
            .filter { !$0.hasPrefix(".") && !$0.contains(".") }.sorted()
    }

    /// Every temporary, staging or half-deleted entry anywhere under `folder`.
    static func leftovers(in folder: URL) -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: folder.path) else { return [] }
        var found: [String] = []
        while let path = walker.nextObject() as? String {
            let name = (path as NSString).lastPathComponent
            if name.hasPrefix(".staging-") || name.hasPrefix("..staging-") || name.hasPrefix(".trash-")
                || name.contains(".tmp-") || name.contains(".partial-") || name.contains(".old-") {
                found.append(path)
            }
        }
        return found
    }

    /// Replaces `url` with its first `bytes` bytes (a truncated, unusable copy).
    static func truncate(_ url: URL, to bytes: Int) throws {
        let data = try Data(contentsOf: url).prefix(bytes)
        try FileManager.default.removeItem(at: url)
        try data.write(to: url)
    }
}

/// A processing step that fails on purpose after writing part of its output.
struct ExplodingProcessor: NightlyProcessor {
    struct Boom: Error {}
    func process(_ batch: NightlyBatch, into directory: URL) async throws -> [NightlyRecordOutcome] {
        try Data("half".utf8).write(to: directory.appendingPathComponent("summary.csv"))
        throw Boom()
    }
}

@Suite("Nightly runner")
struct NightlyRunnerTests {
    private func runner(_ inbox: URL, _ reports: URL, _ ledger: NightlyLedger, archive: URL? = nil, keepDays: Int? = nil,
                        retry: Bool = false, processor: any NightlyProcessor = InventoryProcessor()) -> NightlyRunner {
        NightlyRunner(
            options: NightlyOptions(inbox: inbox, reports: reports, archive: archive, keepDays: keepDays, retryFailed: retry,
                                    minimumAge: 0, settleInterval: 0),
            ledger: ledger, processor: processor)
    }

    @Test("Only new records are processed; a second run the same day gets a suffix; history counts both")
    func incrementalSameDay() async throws {
        let inbox = try NightlyFixtures.inbox(ludb: [1], ptbxl: 2)
        let reports = try SharedData.temporaryDirectory("kmerl-nightly-reports")
        let ledger = try KnowledgeStore.inMemory().nightly
        let now = Date()

        let first = try await runner(inbox, reports, ledger).run(now: now)
        #expect(first.processed == 3 && first.failed == 0 && first.exitCode == 0)
        let night = NightlyReports.nightName(now)
        #expect(first.directory?.lastPathComponent == night)

        let quiet = try await runner(inbox, reports, ledger).run(now: now)
        #expect(quiet.directory == nil && quiet.processed == 0 && quiet.unchanged == 3)

        _ = try NightlyFixtures.inbox(ludb: [7], into: inbox)
        let second = try await runner(inbox, reports, ledger).run(now: now)
        #expect(second.processed == 1)
        #expect(second.directory?.lastPathComponent == "\(night)-2")

        #expect(try NightlyFixtures.nightFolders(in: reports) == [night, "\(night)-2"])
        #expect(try NightlyFixtures.reportedRecords(in: reports) == ["1": 1, "7": 1, "00024_lr": 1, "00043_lr": 1])
        let history = try String(contentsOf: reports.appendingPathComponent("history.csv"), encoding: .utf8)
            .split(separator: "\n").map(String.init)
        #expect(history.first == NightlyHistory.csvHeader)
        #expect(history.count == 4)  // header + 3 runs, newest first
        #expect(history[1].hasPrefix("\(night),\(night)-2,"))
        let index = try String(contentsOf: reports.appendingPathComponent("index.html"), encoding: .utf8)
        #expect(index.contains("href=\"\(night)-2/index.html\""))
        #expect(index.contains("(nothing new)"))
        #expect(NightlyFixtures.leftovers(in: reports).isEmpty)
    }

    @Test("A failing record is reported every night, retried only with retryFailed, and processed once fixed")
    func failures() async throws {
        let inbox = try NightlyFixtures.inbox(ptbxl: 2)
        try NightlyFixtures.truncate(inbox.appendingPathComponent("00043_lr.dat"), to: 10_000)
        let reports = try SharedData.temporaryDirectory("kmerl-nightly-reports")
        let ledger = try KnowledgeStore.inMemory().nightly

        let first = try await runner(inbox, reports, ledger).run()
        #expect(first.processed == 2 && first.failed == 1 && first.exitCode == 3)

        let second = try await runner(inbox, reports, ledger).run()
        #expect(second.processed == 0 && second.carried == 1 && second.exitCode == 3)
        let carriedNight = try #require(second.directory)
        let summary = try String(contentsOf: carriedNight.appendingPathComponent("summary.csv"), encoding: .utf8)
        #expect(summary.contains("00043_lr,00043_lr.hea"))
        #expect(summary.contains("failed-earlier"))
        #expect(summary.contains("holds 10000 bytes, the header needs 24000"))

        let retried = try await runner(inbox, reports, ledger, retry: true).run()
        #expect(retried.processed == 1 && retried.failed == 1 && retried.exitCode == 3)
        #expect(try ledger.entries(inbox: inbox.resolvingSymlinksInPath().path)["00043_lr.hea"]?.attempts == 2)

        try FileManager.default.removeItem(at: inbox.appendingPathComponent("00043_lr.dat"))
        try NightlyFixtures.copy(try SharedData.url("ptbxl/records100/00000/00043_lr.dat"), to: inbox.appendingPathComponent("00043_lr.dat"))
        let fixed = try await runner(inbox, reports, ledger).run()
        #expect(fixed.processed == 1 && fixed.failed == 0 && fixed.carried == 0 && fixed.exitCode == 0)
        #expect(try NightlyFixtures.reportedRecords(in: reports) == ["00024_lr": 1, "00043_lr": 1])
    }

    @Test("Archive moves all files of each processed record together, after the commit")
    func archive() async throws {
        let inbox = try NightlyFixtures.inbox(ludb: [1], ptbxl: 1)
        try FileManager.default.removeItem(at: inbox.appendingPathComponent("1.dat"))  // incomplete: stays
        let reports = try SharedData.temporaryDirectory("kmerl-nightly-reports")
        let archive = try SharedData.temporaryDirectory("kmerl-nightly-archive")
        let ledger = try KnowledgeStore.inMemory().nightly
        let summary = try await runner(inbox, reports, ledger, archive: archive).run()
        #expect(summary.processed == 1 && summary.archived == 1 && summary.waiting.count == 1)
        let night = try #require(summary.directory?.lastPathComponent)
        let archived = try FileManager.default.contentsOfDirectory(atPath: archive.appendingPathComponent(night).path).sorted()
        #expect(archived == ["00024_lr.dat", "00024_lr.hea"])
        let left = try FileManager.default.contentsOfDirectory(atPath: inbox.path)
        #expect(!left.contains("00024_lr.hea") && !left.contains("00024_lr.dat"))
        #expect(left.count == 13)  // LUDB record 1 without its .dat waits, untouched
        let again = try await runner(inbox, reports, ledger, archive: archive).run()
        #expect(again.processed == 0 && again.archived == 0)
    }

    @Test("keepDays prunes older night folders and marks them in the history")
    func prune() async throws {
        let inbox = try NightlyFixtures.inbox(ptbxl: 1)
        let reports = try SharedData.temporaryDirectory("kmerl-nightly-reports")
        let ledger = try KnowledgeStore.inMemory().nightly
        let old = Date(timeIntervalSinceNow: -10 * 86_400)
        let first = try await runner(inbox, reports, ledger).run(now: old)
        let oldName = try #require(first.directory?.lastPathComponent)
        _ = try NightlyFixtures.inbox(ptbxl: 3, into: try SharedData.temporaryDirectory())  // unrelated folder
        try NightlyFixtures.copy(try SharedData.url("ptbxl/records100/00000/00043_lr.hea"), to: inbox.appendingPathComponent("00043_lr.hea"))
        try NightlyFixtures.copy(try SharedData.url("ptbxl/records100/00000/00043_lr.dat"), to: inbox.appendingPathComponent("00043_lr.dat"))
        let now = try await runner(inbox, reports, ledger, keepDays: 3).run()
        #expect(now.pruned == [oldName])
        #expect(try NightlyFixtures.nightFolders(in: reports) == [NightlyReports.nightName(Date())])
        let history = try String(contentsOf: reports.appendingPathComponent("history.csv"), encoding: .utf8)
        #expect(history.contains("\(oldName),\(oldName),"))
        #expect(history.split(separator: "\n").last?.hasSuffix(",yes") == true)
    }

    @Test("A processing step that throws publishes nothing; its records are processed by the next run")
    func failedProcessing() async throws {
        let inbox = try NightlyFixtures.inbox(ptbxl: 2)
        let reports = try SharedData.temporaryDirectory("kmerl-nightly-reports")
        let ledger = try KnowledgeStore.inMemory().nightly
        await #expect(throws: ExplodingProcessor.Boom.self) {
            _ = try await runner(inbox, reports, ledger, processor: ExplodingProcessor()).run()
        }
        #expect(try NightlyFixtures.nightFolders(in: reports).isEmpty)
        #expect(NightlyFixtures.leftovers(in: reports).isEmpty)
        let next = try await runner(inbox, reports, ledger).run()
        #expect(next.processed == 2)
        #expect(try NightlyFixtures.reportedRecords(in: reports) == ["00024_lr": 1, "00043_lr": 1])
    }

    @Test("Reports or archive inside the inbox are refused before anything is written")
    func foldersInsideInbox() async throws {
        let inbox = try NightlyFixtures.inbox(ptbxl: 1)
        let ledger = try KnowledgeStore.inMemory().nightly
        await #expect(throws: NightlyError.self) {
            _ = try await runner(inbox, inbox.appendingPathComponent("reports"), ledger).run()
        }
        let reports = try SharedData.temporaryDirectory("kmerl-nightly-reports")
        await #expect(throws: NightlyError.self) {
            _ = try await runner(inbox, reports, ledger, archive: inbox.appendingPathComponent("done")).run()
        }
        #expect(!FileManager.default.fileExists(atPath: inbox.appendingPathComponent("reports").path))
        #expect(try FileManager.default.contentsOfDirectory(atPath: reports.path).isEmpty)
    }

    @Test("The lock is exclusive while held and free once released")
    func lock() throws {
        let reports = try SharedData.temporaryDirectory("kmerl-nightly-reports")
        let held = try NightlyLock(reports: reports)
        #expect(throws: NightlyLock.Busy.self) { _ = try NightlyLock(reports: reports) }
        do {
            _ = try NightlyLock(reports: reports)
        } catch let busy as NightlyLock.Busy {
            #expect(busy.holder.contains("pid \(getpid())"))
        }
        held.release()
        let again = try NightlyLock(reports: reports)
        again.release()
    }

    @Test("Night names use the local calendar; taken names get -2, -3")
    func naming() throws {
        let date = Date(timeIntervalSince1970: 1_764_028_800)  // 2025-11-25T00:00:00Z
        #expect(NightlyReports.nightName(date, timeZone: TimeZone(identifier: "UTC")!) == "2025-11-25")
        #expect(NightlyReports.nightName(date, timeZone: TimeZone(identifier: "America/New_York")!) == "2025-11-24")
        let reports = try NightlyReports(url: try SharedData.temporaryDirectory("kmerl-nightly-reports"))
        try FileManager.default.createDirectory(at: reports.nightURL("2025-11-25"), withIntermediateDirectories: true)
        #expect(reports.freeDirectoryName(night: "2025-11-25", used: []) == "2025-11-25-2")
        #expect(reports.freeDirectoryName(night: "2025-11-25", used: ["2025-11-25-2"]) == "2025-11-25-3")
        #expect(reports.freeDirectoryName(night: "2025-11-26", used: []) == "2025-11-26")
    }
}


/// A light processing step for the in-process runner tests (the product uses
/// `ClassifyingProcessor`): checks that each record's files are complete and consistent (a WFDB
/// signal file holds at least the samples its header announces; other files are non-empty) and
/// writes an inventory (`index.html`, `records/ID.html`, `summary.csv`, `run.json`).
public struct InventoryProcessor: NightlyProcessor {
    /// A pause per record (tests use it to kill a run in the middle).
    public var delayPerRecord: TimeInterval

    /// A processor; `delayPerRecord` is 0 outside tests.
    public init(delayPerRecord: TimeInterval = 0) {
        self.delayPerRecord = delayPerRecord
    }

    /// Checks each record and writes the inventory into `directory`.
    public func process(_ batch: NightlyBatch, into directory: URL) async throws -> [NightlyRecordOutcome] {
        let recordsFolder = directory.appendingPathComponent("records", isDirectory: true)
        try FileManager.default.createDirectory(at: recordsFolder, withIntermediateDirectories: true)
        var outcomes: [NightlyRecordOutcome] = []
        var csv = "record_id,source,files,content_sha256,status,reason\n"
        var rows = ""
        var usedIDs = Set<String>()
        for record in batch.records {
            if delayPerRecord > 0 { try await Task.sleep(nanoseconds: UInt64(delayPerRecord * 1e9)) }
            let problem = InventoryProcessor.check(record)
            outcomes.append(NightlyRecordOutcome(
                key: record.key, ok: problem == nil, statement: problem == nil ? "not classified" : nil, reason: problem))
            var id = record.name
            var suffix = 1
            while usedIDs.contains(id) {
                suffix += 1
                id = "\(record.name)-\(suffix)"
            }
            usedIDs.insert(id)
            let status = problem == nil ? "ok" : "failed"
            csv += [id, record.key, record.files.joined(separator: ";"), record.contentHash, status, problem ?? ""]
                .map(InventoryProcessor.csvField).joined(separator: ",") + "\n"
            let page = """
                <!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>\(NightlyHistory.escape(id))</title></head><body>
                <h1>\(NightlyHistory.escape(id))</h1><p>source: \(NightlyHistory.escape(record.key))</p>
                <p>status: \(status)\(problem.map { " — " + NightlyHistory.escape($0) } ?? "")</p>
                <ul>\(record.files.map { "<li>\(NightlyHistory.escape($0))</li>" }.joined())</ul>
                <p>content SHA-256: \(record.contentHash)</p></body></html>

                """
            try NightlyReports.writeAtomically(Data(page.utf8), to: recordsFolder.appendingPathComponent("\(id).html"), synchronize: false)
            rows += "<tr><td><a href=\"records/\(NightlyHistory.escape(id)).html\">\(NightlyHistory.escape(id))</a></td>"
                + "<td>\(NightlyHistory.escape(record.key))</td><td>\(status)</td><td>\(NightlyHistory.escape(problem ?? ""))</td></tr>\n"
        }
        for failure in batch.carried {
            let reason = "failed in an earlier run (\(failure.attempts) attempt(s)), not retried: \(failure.reason)"
            csv += [failure.record.name, failure.record.key, failure.record.files.joined(separator: ";"), failure.record.contentHash, "failed-earlier", reason]
                .map(InventoryProcessor.csvField).joined(separator: ",") + "\n"
            rows += "<tr><td>\(NightlyHistory.escape(failure.record.name))</td><td>\(NightlyHistory.escape(failure.record.key))</td>"
                + "<td>failed earlier</td><td>\(NightlyHistory.escape(reason))</td></tr>\n"
        }
        let index = """
            <!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>kmerl nightly \(NightlyHistory.escape(batch.directoryName))</title></head><body>
            <h1>Night \(NightlyHistory.escape(batch.directoryName))</h1>
            <p>\(batch.records.count) record(s) checked; \(batch.carried.count) earlier failure(s); \(batch.waiting.count) waiting for the next run.</p>
            <table><thead><tr><th>record</th><th>source</th><th>status</th><th>reason</th></tr></thead><tbody>
            \(rows)</tbody></table></body></html>

            """
        try NightlyReports.writeAtomically(Data(csv.utf8), to: directory.appendingPathComponent("summary.csv"))
        let run: [String: Any] = [
            "night": batch.directoryName,
            "processing": "inventory (file completeness check; classification not wired in)",
            "counts": [
                "records": batch.records.count, "failed": outcomes.filter { !$0.ok }.count,
                "failed_earlier": batch.carried.count, "waiting": batch.waiting.count,
            ],
            "errors": outcomes.compactMap { outcome in outcome.reason.map { ["record": outcome.key, "reason": $0] } },
            "waiting": batch.waiting.map { ["file": $0.file, "reason": $0.message] },
        ]
        let json = try JSONSerialization.data(withJSONObject: run, options: [.prettyPrinted, .sortedKeys])
        try NightlyReports.writeAtomically(json, to: directory.appendingPathComponent("run.json"))
        try NightlyReports.writeAtomically(Data(index.utf8), to: directory.appendingPathComponent("index.html"))
        return outcomes
    }

    /// Why `record` is not usable, or nil.
    static func check(_ record: InboxRecord) -> String? {
        let manager = FileManager.default
        for file in record.files {
            let path = record.primary.deletingLastPathComponent().appendingPathComponent((file as NSString).lastPathComponent).path
            guard manager.isReadableFile(atPath: path) else { return "\(file): not readable" }
        }
        guard let size = (try? manager.attributesOfItem(atPath: record.primary.path))?[.size] as? Int, size > 0 else {
            return "\(record.key): empty file"
        }
        guard record.primary.pathExtension.lowercased() == "hea" else { return nil }
        guard let text = try? String(contentsOf: record.primary, encoding: .utf8), let header = WFDBHeaderFiles(text: text) else {
            return "\(record.key): not a readable WFDB header"
        }
        guard let samples = header.samplesPerSignal else { return nil }
        var bytesPerFile: [String: Double] = [:]
        for (file, format) in header.formats where file != "~" {
            let code = format.prefix { $0.isNumber }
            let width: Double? = switch code {
            case "8", "80": 1
            case "16", "61", "160": 2
            case "212": 1.5
            case "310", "311": 4.0 / 3.0
            case "24": 3
            case "32": 4
            default: nil
            }
            guard let width else { return nil }  // FLAC or unusual formats: size not predictable
            bytesPerFile[file, default: 0] += width
        }
        for (file, width) in bytesPerFile.sorted(by: { $0.key < $1.key }) {
            let url = record.primary.deletingLastPathComponent().appendingPathComponent(file)
            let needed = Int((Double(samples) * width).rounded(.down))
            let actual = (try? manager.attributesOfItem(atPath: url.path))?[.size] as? Int ?? 0
            if actual < needed { return "\(file): holds \(actual) bytes, the header needs \(needed) (truncated)" }
        }
        return nil
    }

    /// A CSV field, quoted when needed, neutralized against spreadsheet formulas.
    static func csvField(_ text: String) -> String {
        var value = text
        if let first = value.first, "=+-@\t\r".contains(first) { value = "'" + value }
        guard value.contains(where: { ",\"\n\r".contains($0) }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
