import ECGCore
import Foundation
import Knowledge

/// A record that failed in an earlier run and is reported again without a retry.
public struct NightlyCarriedFailure: Sendable, Hashable {
    /// The record as it is in the inbox now (unchanged).
    public var record: InboxRecord
    /// Why it failed.
    public var reason: String
    /// How many runs tried it.
    public var attempts: Int
    /// When it first failed.
    public var since: Date?
}

/// What one night has to process and report.
public struct NightlyBatch: Sendable {
    /// The nightly run's id in the ledger.
    public var runID: Int64
    /// The inbox folder.
    public var inbox: URL
    /// The night's folder name (`YYYY-MM-DD[-N]`).
    public var directoryName: String
    /// New or changed records, in key order.
    public var records: [InboxRecord]
    /// Earlier failures reported again.
    public var carried: [NightlyCarriedFailure]
    /// Records left for a later run.
    public var waiting: [Diagnostic]
}

/// The result of processing one record.
public struct NightlyRecordOutcome: Sendable, Hashable {
    /// The record's key (`InboxRecord.key`).
    public var key: String
    /// Whether it was processed successfully.
    public var ok: Bool
    /// The overall statement (normal, abnormal, …).
    public var statement: String?
    /// Whether it has abnormal findings.
    public var abnormal: Bool
    /// Why it failed.
    public var reason: String?

    /// An outcome from its parts.
    public init(key: String, ok: Bool, statement: String? = nil, abnormal: Bool = false, reason: String? = nil) {
        self.key = key
        self.ok = ok
        self.statement = statement
        self.abnormal = abnormal
        self.reason = reason
    }
}

/// The processing step of a night: writes its outputs (index.html, records/, CSV, run.json)
/// into `directory` — a hidden staging folder that is published as a whole afterwards — and
/// returns one outcome per record. Throwing ends the run; nothing is published.
public protocol NightlyProcessor: Sendable {
    /// Processes `batch` into `directory`.
    func process(_ batch: NightlyBatch, into directory: URL) async throws -> [NightlyRecordOutcome]
}

/// Points of a run where tests may pause it (to kill it there) — see `NightlyRunner.pause`.
public enum NightlyPhase: String, Sendable, CaseIterable {
    /// After the inbox scan, before the run is registered.
    case scanned
    /// After the processing step wrote into the staging folder, before outcomes are stored.
    case processed
    /// After outcomes are stored, before the night folder is published.
    case outcomesStored = "outcomes-stored"
    /// After the night folder is published, before the ledger commit.
    case published
    /// After the ledger commit, before the history and archive.
    case committed
    /// Between two archive moves.
    case archiving
}

/// Settings of a nightly run.
public struct NightlyOptions: Sendable {
    /// The inbox folder.
    public var inbox: URL
    /// The reports folder.
    public var reports: URL
    /// Where processed records' files are moved (none: they stay in the inbox).
    public var archive: URL?
    /// Night folders older than this many days are removed.
    public var keepDays: Int?
    /// Retry records that failed before and are unchanged.
    public var retryFailed: Bool
    /// Files modified more recently than this (seconds) wait for the next run.
    public var minimumAge: TimeInterval
    /// Pause between two looks at new files (seconds).
    public var settleInterval: TimeInterval
    /// How inbox files form records.
    public var grouper: InboxGrouper

    /// Options with the defaults of the command line.
    public init(
        inbox: URL, reports: URL, archive: URL? = nil, keepDays: Int? = nil, retryFailed: Bool = false,
        minimumAge: TimeInterval = 60, settleInterval: TimeInterval = 2,
        grouper: @escaping InboxGrouper = InboxScanner.groupRecords
    ) {
        self.inbox = inbox.standardizedFileURL.resolvingSymlinksInPath()
        self.reports = reports.standardizedFileURL
        self.archive = archive?.standardizedFileURL
        self.keepDays = keepDays
        self.retryFailed = retryFailed
        self.minimumAge = minimumAge
        self.settleInterval = settleInterval
        self.grouper = grouper
    }
}

/// What a run did.
public struct NightlySummary: Sendable {
    /// The published night folder, if the run had anything to report.
    public var directory: URL?
    /// Records processed (ok + failed).
    public var processed = 0
    /// Records that failed this run.
    public var failed = 0
    /// Earlier failures reported again.
    public var carried = 0
    /// Records with abnormal findings.
    public var abnormal = 0
    /// Records already processed and unchanged.
    public var unchanged = 0
    /// Records left for a later run, with the reason.
    public var waiting: [Diagnostic] = []
    /// Files that are not ECG records.
    public var ignored = 0
    /// Files hashed.
    public var hashedFiles = 0
    /// What recovery did with runs left by a killed process.
    public var recovered: [String] = []
    /// Records whose files were moved to the archive.
    public var archived = 0
    /// Night folders removed by `keepDays`.
    public var pruned: [String] = []
    /// Wall time of the run in seconds.
    public var seconds: Double = 0

    /// 0 when every record reported this night succeeded, 3 when some failed (now or before).
    public var exitCode: Int32 { failed + carried > 0 ? 3 : 0 }
}

/// Runs one night: lock, recover, scan, process into staging, publish, commit, history,
/// prune, archive.
///
/// Exactly once: a record counts as processed only when the ledger commit that follows the
/// publication (rename) of its night folder is done. Runs are registered in the ledger before
/// any file is written; a run found unfinished at the next start is completed when its outcomes
/// were stored (its staging folder is renamed if that had not happened yet, then committed) and
/// discarded otherwise (staging folder removed, records not marked, so they are processed
/// again). Files are archived only after the commit, and an interrupted archive is completed
/// from the ledger.
public struct NightlyRunner: Sendable {
    /// The settings.
    public var options: NightlyOptions
    /// The ledger (in the knowledge base).
    public var ledger: NightlyLedger
    /// The processing step.
    public var processor: any NightlyProcessor
    /// Called at each phase (tests pause here to be killed at a chosen moment).
    public var pause: @Sendable (NightlyPhase) async -> Void

    /// A runner.
    public init(
        options: NightlyOptions, ledger: NightlyLedger, processor: any NightlyProcessor,
        pause: @escaping @Sendable (NightlyPhase) async -> Void = { _ in }
    ) {
        self.options = options
        self.ledger = ledger
        self.processor = processor
        self.pause = pause
    }

    /// Runs one night. Throws `NightlyLock.Busy` when another run holds the reports folder.
    public func run(now: Date = Date()) async throws -> NightlySummary {
        let clock = ContinuousClock.now
        let inboxPrefix = options.inbox.path + "/"
        for (flag, folder) in [("--reports", options.reports), ("--archive", options.archive)] {
            guard let folder else { continue }
            let path = folder.resolvingSymlinksInPath().path
            if path == options.inbox.path || path.hasPrefix(inboxPrefix) {
                throw NightlyError(path: folder.path, problem: "\(flag) must not be inside the inbox \(options.inbox.path)")
            }
        }
        let reports = try NightlyReports(url: options.reports)
        let lock = try NightlyLock(reports: reports.url)
        defer { lock.release() }
        let reportsKey = reports.url.path
        let inboxKey = options.inbox.path
        var summary = NightlySummary()

        // 1. Finish or discard what a killed run left, then clean hidden leftovers.
        summary.recovered = try recover(reports: reports)
        try reports.removeLeftovers()
        summary.archived += try await completeArchives(inbox: inboxKey)

        // 2. Look at the inbox.
        let scanner = InboxScanner(
            inbox: options.inbox, minimumAge: options.minimumAge, settleInterval: options.settleInterval,
            retryFailed: options.retryFailed, grouper: options.grouper)
        let scan = try await scanner.scan(ledger: ledger, now: Date())  // file ages use the real clock
        summary.unchanged = scan.unchanged
        summary.waiting = scan.waiting
        summary.ignored = scan.ignored.count
        summary.hashedFiles = scan.hashedFiles
        await pause(.scanned)

        // 3. Process new and changed records (and report earlier failures) into a staging folder.
        let night = NightlyReports.nightName(now)
        if scan.toProcess.isEmpty && scan.carried.isEmpty {
            try ledger.recordQuietRun(
                reports: reportsKey, inbox: inboxKey, startedAt: now, finishedAt: Date(), night: night, waiting: scan.waiting.count)
        } else {
            let entries = try ledger.entries(inbox: inboxKey)
            let carried = scan.carried.map { record in
                let entry = entries[record.key]
                return NightlyCarriedFailure(
                    record: record, reason: entry?.reason ?? "failed in an earlier run", attempts: entry?.attempts ?? 1,
                    since: entry?.firstFailedAt)
            }
            let name = reports.freeDirectoryName(night: night, used: try ledger.usedDirectories(reports: reportsKey))
            let runID = try ledger.beginRun(
                reports: reportsKey, inbox: inboxKey, startedAt: now, night: night, directory: name,
                planned: scan.toProcess.map { NightlyPlannedRecord(recordKey: $0.key, contentHash: $0.contentHash, files: $0.files) },
                carried: scan.carried.map { NightlyPlannedRecord(recordKey: $0.key, contentHash: $0.contentHash, files: $0.files) },
                waiting: scan.waiting.count,
                archiveDirectory: options.archive?.appendingPathComponent(name).path)
            let staging = reports.stagingURL(".staging-\(runID)")
            let outcomes: [NightlyRecordOutcome]
            do {
                try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
                let batch = NightlyBatch(runID: runID, inbox: options.inbox, directoryName: name, records: scan.toProcess, carried: carried, waiting: scan.waiting)
                outcomes = try await processor.process(batch, into: staging)
            } catch {
                try? reports.removeTree(staging)
                try? ledger.discardRun(runID: runID, at: Date())
                throw error
            }
            await pause(.processed)
            let byKey = Dictionary(outcomes.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
            let rows = scan.toProcess.map { record -> NightlyOutcomeRow in
                guard let outcome = byKey[record.key] else {
                    return NightlyOutcomeRow(recordKey: record.key, kind: .failed, reason: "the processing step reported no outcome for this record")
                }
                return NightlyOutcomeRow(
                    recordKey: record.key, kind: outcome.ok ? .ok : .failed, statement: outcome.statement,
                    abnormal: outcome.abnormal, reason: outcome.reason)
            }
            try ledger.recordOutcomes(runID: runID, rows)
            await pause(.outcomesStored)
            try reports.publish(staging: staging, as: name)
            await pause(.published)
            try ledger.commitRun(runID: runID, finishedAt: Date(), publishedPath: reports.nightURL(name).path)
            await pause(.committed)
            summary.directory = reports.nightURL(name)
            summary.processed = rows.count
            summary.failed = rows.filter { $0.kind == .failed }.count
            summary.carried = scan.carried.count
            summary.abnormal = rows.filter(\.abnormal).count
        }

        // 4. Prune old nights, write the history, archive what this run committed.
        if let keepDays = options.keepDays {
            summary.pruned = try prune(reports: reports, keepDays: keepDays, now: now)
        }
        try reports.writeHistory(try ledger.committedRuns(reports: reportsKey))
        summary.archived += try await completeArchives(inbox: inboxKey)
        summary.seconds = Double((ContinuousClock.now - clock).components.attoseconds) / 1e18
            + Double((ContinuousClock.now - clock).components.seconds)
        return summary
    }

    /// Completes or discards runs left unfinished by a killed process (deterministically:
    /// outcomes stored → complete; otherwise → discard). Returns one line per run.
    func recover(reports: NightlyReports) throws -> [String] {
        var notes: [String] = []
        for run in try ledger.unfinishedRuns(reports: reports.url.path) {
            let staging = run.staging.map(reports.stagingURL)
            let name = run.directory ?? run.night
            let published = FileManager.default.fileExists(atPath: reports.nightURL(name).path)
            switch run.state {
            case .processed:
                if !published {
                    guard let staging, FileManager.default.fileExists(atPath: staging.path) else {
                        try ledger.discardRun(runID: run.id, at: Date())
                        notes.append("run \(run.id): staging folder missing, discarded; its records are processed again")
                        continue
                    }
                    try reports.publish(staging: staging, as: name)
                }
                try ledger.commitRun(runID: run.id, finishedAt: Date(), publishedPath: reports.nightURL(name).path)
                notes.append("run \(run.id): interrupted after processing; published \(name) and committed")
            default:
                if let staging { try reports.removeTree(staging) }
                try ledger.discardRun(runID: run.id, at: Date())
                notes.append("run \(run.id): interrupted while processing; discarded, its records are processed again")
            }
        }
        return notes
    }

    /// Moves the files of committed records marked for archiving (all files of a record, then
    /// the ledger mark). Returns the number of records archived.
    func completeArchives(inbox: String) async throws -> Int {
        let pending = try ledger.pendingArchives(inbox: inbox)
        for entry in pending {
            guard let destination = entry.archiveDirectory else { continue }
            for (index, file) in entry.files.enumerated() {
                try NightlyArchiver.move(
                    URL(fileURLWithPath: inbox).appendingPathComponent(file),
                    to: URL(fileURLWithPath: destination).appendingPathComponent(file))
                if index == 0 { await pause(.archiving) }
            }
            try ledger.markArchived(inbox: inbox, recordKey: entry.recordKey, files: entry.files)
        }
        return pending.count
    }

    /// Removes night folders of nights more than `keepDays` days before `now`.
    func prune(reports: NightlyReports, keepDays: Int, now: Date) throws -> [String] {
        let cutoff = NightlyReports.nightName(now.addingTimeInterval(-Double(keepDays) * 86_400))
        var removed: [String] = []
        var ids: [Int64] = []
        for run in try ledger.committedRuns(reports: reports.url.path) where !run.pruned && run.night < cutoff {
            if let directory = run.directory {
                try reports.removeTree(reports.nightURL(directory))
                removed.append(directory)
            }
            ids.append(run.id)
        }
        try ledger.markPruned(runIDs: ids)
        return removed
    }
}

/// Moves inbox files to the archive.
public enum NightlyArchiver {
    /// Moves `source` to `target` (creating folders). Idempotent: when the source is gone and
    /// the target exists, the move happened already. Across file systems the file is copied to
    /// a hidden temporary name, renamed, then the source removed.
    public static func move(_ source: URL, to target: URL) throws {
        let manager = FileManager.default
        guard manager.fileExists(atPath: source.path) else { return }
        do {
            try manager.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        } catch {
            throw NightlyError(path: target.deletingLastPathComponent().path, problem: "cannot create the archive folder: \(error.localizedDescription)")
        }
        if rename(source.path, target.path) == 0 { return }
        guard errno == EXDEV else {
            throw NightlyError(path: source.path, problem: "cannot move to \(target.path): \(String(cString: strerror(errno)))")
        }
        let temporary = target.deletingLastPathComponent().appendingPathComponent(".tmp-\(UUID().uuidString)-\(target.lastPathComponent)")
        do {
            try manager.copyItem(at: source, to: temporary)
            try NightlyReports.rename(temporary, to: target)
            try manager.removeItem(at: source)
        } catch {
            try? manager.removeItem(at: temporary)
            throw NightlyError(path: source.path, problem: "cannot move to \(target.path): \(error.localizedDescription)")
        }
    }
}
