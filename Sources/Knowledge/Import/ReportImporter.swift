import ECGCore
import Foundation
import GRDB

/// What one import did.
public struct ImportSummary: Sendable, Codable, Hashable {
    /// The file imported.
    public var file: String
    /// The format used (detected or requested).
    public var format: ReportFormat
    /// Data rows read (header excluded).
    public var rowsRead: Int
    /// Reports new to the base.
    public var reportsAdded: Int
    /// Reports already in the base (same id and text): not added again.
    public var reportsAlreadyPresent: Int
    /// Mentions extracted from the added reports.
    public var mentionsAdded: Int
    /// Rows that yielded no report.
    public var rowsSkipped: Int
    /// Skipped rows per reason kind (`empty report`, `empty ecg_id` …).
    public var skippedByReason: [String: Int]
    /// The first skipped rows, with line numbers (at most 100 are kept).
    public var skippedExamples: [String]
    /// Wall-clock seconds.
    public var seconds: Double
    /// The `import_runs` row id.
    public var importRunID: Int64

    /// Reports per second over the whole import.
    public var reportsPerSecond: Double { seconds > 0 ? Double(rowsRead) / seconds : 0 }
}

/// Progress of a running import, reported every few thousand rows.
public struct ImportProgress: Sendable {
    /// Rows read so far.
    public var rowsRead: Int
    /// Bytes of the file consumed so far.
    public var bytesRead: Int
    /// The file's size in bytes.
    public var totalBytes: Int
}

/// Reads a report file, extracts mentions from every report and stores both in the knowledge base.
///
/// The whole import is one write transaction: if any row is malformed (invalid UTF-8, wrong
/// width, a file ending inside quotes, missing columns) nothing is written and the error names
/// the file and line. Reports already in the base (same external id and text, by content hash)
/// are not added again, so importing a file twice adds nothing.
public struct ReportImporter: Sendable {
    /// The base imported into.
    public let store: KnowledgeStore
    /// Turns a report's text into mentions.
    public let extract: @Sendable (String) -> [Mention]
    /// Column names of a generic file.
    public var idColumn: String?
    public var textColumn: String?
    /// Extract on all cores (the default) or on the calling thread only.
    public var parallel = true
    /// Reports extracted together.
    let batchSize = 4096

    /// An importer that extracts with `extract`.
    public init(store: KnowledgeStore, idColumn: String? = nil, textColumn: String? = nil, extract: @escaping @Sendable (String) -> [Mention]) {
        self.store = store
        self.extract = extract
        self.idColumn = idColumn
        self.textColumn = textColumn
    }

    /// Imports `url` in `format` (`.auto` detects it from the header); `progress` is called
    /// every 4096 rows and at the end.
    public func importFile(
        _ url: URL, format: ReportFormat = .auto, progress: ((ImportProgress) -> Void)? = nil
    ) throws -> ImportSummary {
        let started = Date()
        let source = try ReportSource(url: url, format: format, idColumn: idColumn, textColumn: textColumn)
        let totalBytes = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0
        let file = url.standardizedFileURL.path
        let extract = self.extract
        // Foreign keys are not checked per row: every reference is to a row this transaction
        // has just inserted (the run, the report).
        return try store.writeTrustedReferences("import \(url.path)") { db in
            // A large import modifies more pages than the default 2 MiB cache holds; spilling them
            // to the WAL mid-transaction and reading them back dominated the profile.
            let previousCache = try Int.fetchOne(db, sql: "PRAGMA cache_size") ?? -2000
            try db.execute(sql: "PRAGMA cache_size = -131072")  // 128 MiB
            defer { try? db.execute(sql: "PRAGMA cache_size = \(previousCache)") }
            let ontologyVersion = try String.fetchOne(db, sql: "SELECT value FROM ontology_info WHERE key = 'version'") ?? "none"
            try db.execute(
                sql: """
                    INSERT INTO import_runs (source_file, format, started_at, finished_at, rows_read, reports_added,
                        reports_already_present, mentions_added, rows_skipped, ontology_version)
                    VALUES (?, ?, ?, ?, 0, 0, 0, 0, 0, ?)
                    """,
                arguments: [file, source.format.rawValue, started, started, ontologyVersion])
            let runID = db.lastInsertedRowID
            let insertReport = try BoundInsert(
                db,
                sql: """
                    INSERT INTO reports (import_run_id, external_id, line, text, content_hash)
                    VALUES (?, ?, ?, ?, ?) ON CONFLICT (content_hash) DO NOTHING
                    """)
            let insertMention = try BoundInsert(
                db,
                sql: """
                    INSERT INTO mentions (report_id, concept_id, start, "end", assertion, leads, lead_mask, location, severity, acuity)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
            // Mentions go in 32 rows per statement: one statement execution per row cost more
            // than the row itself on the writer thread, the import's bottleneck. `OR FAIL`: a
            // multi-row insert that may abort halfway keeps a statement journal (a copy of every page
            // it touches) to undo itself; FAIL keeps the rows before the failing one instead, and
            // any failure ends the whole import's transaction anyway.
            let rowsPerStatement = 32
            let insertMentions = try BoundInsert(
                db,
                sql: """
                    INSERT OR FAIL INTO mentions (report_id, concept_id, start, "end", assertion, leads, lead_mask, location, severity, acuity)
                    VALUES
                    """ + Array(repeating: "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", count: rowsPerStatement).joined(separator: ", "))
            func bind(_ statement: BoundInsert, row: Int, reportID: Int64, _ mention: PreparedMention) {
                let base = Int32(row * 10)
                statement.bind(base + 1, reportID)
                statement.bind(base + 2, mention.conceptID)
                statement.bind(base + 3, mention.start)
                statement.bind(base + 4, mention.end)
                statement.bind(base + 5, mention.assertion.rawValue)
                statement.bind(base + 6, mention.leadsText)
                statement.bind(base + 7, mention.leadMask)
                statement.bind(base + 8, mention.location)
                statement.bind(base + 9, mention.severity)
                statement.bind(base + 10, mention.acuity)
            }
            var pending: [(reportID: Int64, mention: PreparedMention)] = []
            func insertPending() throws {
                var start = 0
                while pending.count - start >= rowsPerStatement {
                    for row in 0..<rowsPerStatement {
                        let item = pending[start + row]
                        bind(insertMentions, row: row, reportID: item.reportID, item.mention)
                    }
                    try insertMentions.execute()
                    start += rowsPerStatement
                }
                for item in pending[start...] {
                    bind(insertMention, row: 0, reportID: item.reportID, item.mention)
                    try insertMention.execute()
                }
                pending.removeAll(keepingCapacity: true)
            }
            var counts = SummaryCounts()
            var rowsRead = 0
            var added = 0
            var present = 0
            var mentionCount = 0
            var skipped = 0
            var skippedByReason: [String: Int] = [:]
            var skippedExamples: [String] = []
            // Two-stage pipeline: a producer thread parses rows, hashes them, extracts their
            // mentions and counts them; this (the writer's) thread only inserts. The queue between
            // them holds at most a few batches, so memory stays flat.
            let pipe = BatchPipe(capacity: 4)
            defer { pipe.cancel() }
            let producer = BatchProducer(
                source: source, extract: extract, batchSize: batchSize,
                workers: parallel ? max(1, ProcessInfo.processInfo.activeProcessorCount - 1) : 1, pipe: pipe)
            Thread.detachNewThread { producer.run() }
            while let batch = try pipe.take().get() {
                rowsRead = batch.rowsRead
                for skip in batch.skipped {
                    skipped += 1
                    let kind = skip.reason.split(separator: "(").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? skip.reason
                    skippedByReason[kind, default: 0] += 1
                    if skippedExamples.count < 100 { skippedExamples.append(skip.description) }
                }
                var allNew = true
                var isNew = [Bool](repeating: true, count: batch.reports.count)
                for (index, report) in batch.reports.enumerated() {
                    insertReport.bind(1, runID)
                    insertReport.bind(2, report.externalID)
                    insertReport.bind(3, report.line)
                    insertReport.bind(4, report.text)
                    insertReport.bind(5, report.hash)
                    try insertReport.execute()
                    if db.changesCount == 0 {
                        present += 1
                        allNew = false
                        isNew[index] = false
                        continue
                    }
                    added += 1
                    let reportID = db.lastInsertedRowID
                    for mention in report.mentions { pending.append((reportID, mention)) }
                    mentionCount += report.mentions.count
                }
                try insertPending()
                if allNew {
                    counts.merge(batch.counts)
                } else {
                    // Some reports were already in the base: count only the added ones.
                    for (report, new) in zip(batch.reports, isNew) where new { counts.add(report.mentions.map(\.mention)) }
                }
                if let progress {
                    progress(ImportProgress(rowsRead: rowsRead, bytesRead: batch.bytesConsumed, totalBytes: totalBytes))
                }
            }
            try counts.save(db)
            let seconds = Date().timeIntervalSince(started)
            try db.execute(
                sql: """
                    UPDATE import_runs SET finished_at = ?, rows_read = ?, reports_added = ?, reports_already_present = ?,
                        mentions_added = ?, rows_skipped = ? WHERE id = ?
                    """,
                arguments: [Date(), rowsRead, added, present, mentionCount, skipped, runID])
            progress?(ImportProgress(rowsRead: rowsRead, bytesRead: totalBytes, totalBytes: totalBytes))
            return ImportSummary(
                file: file, format: source.format, rowsRead: rowsRead, reportsAdded: added, reportsAlreadyPresent: present,
                mentionsAdded: mentionCount, rowsSkipped: skipped, skippedByReason: skippedByReason,
                skippedExamples: skippedExamples, seconds: seconds, importRunID: runID)
        }
    }
}

extension ReportImporter {
    /// `extract` applied to every text, in order; spread over `workers` threads.
    static func extractAll(_ texts: [String], extract: @Sendable (String) -> [Mention], workers: Int) -> [[Mention]] {
        let workers = min(workers, max(1, texts.count / 256))
        if workers <= 1 { return texts.map(extract) }
        var results = [[Mention]](repeating: [], count: texts.count)
        results.withUnsafeMutableBufferPointer { buffer in
            nonisolated(unsafe) let output = buffer
            let per = (texts.count + workers - 1) / workers
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                let lower = worker * per
                let upper = min(texts.count, lower + per)
                guard lower < upper else { return }
                // Each worker writes only its own index range.
                for i in lower..<upper { output[i] = extract(texts[i]) }
            }
        }
        return results
    }
}

/// A mention with its lead set already rendered for the `mentions` table.
struct PreparedMention: Sendable {
    var mention: Mention
    var leadsText: String
    var leadMask: Int

    init(_ mention: Mention) {
        self.mention = mention
        leadsText = LeadSet.text(mention.leads)
        leadMask = LeadSet.mask(mention.leads)
    }

    var conceptID: String { mention.conceptID }
    var start: Int { mention.start }
    var end: Int { mention.end }
    var assertion: Assertion { mention.assertion }
    var location: String? { mention.location }
    var severity: String? { mention.severity }
    var acuity: String? { mention.acuity }
}

/// A report ready to insert: hashed, with its mentions extracted.
struct PreparedReport: Sendable {
    var externalID: String
    var line: Int
    var text: String
    var hash: Data
    var mentions: [PreparedMention]
}

/// Rows prepared by the producer: reports, skipped rows, and the summary counts of all its
/// reports (used as they are when every report turns out to be new).
struct PreparedBatch: Sendable {
    var reports: [PreparedReport] = []
    var skipped: [SkippedRow] = []
    /// Rows read from the start of the file up to the end of this batch.
    var rowsRead = 0
    var bytesConsumed = 0
    var counts = SummaryCounts()
}

/// A bounded queue of batches between the producer thread and the writer.
final class BatchPipe: @unchecked Sendable {
    // All state is guarded by `condition`.
    private let condition = NSCondition()
    private var items: [Result<PreparedBatch?, any Error>] = []
    private var cancelled = false
    private let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    /// Adds an item, waiting while the queue is full; `false` when the consumer has gone.
    func put(_ item: Result<PreparedBatch?, any Error>) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while items.count >= capacity && !cancelled { condition.wait() }
        if cancelled { return false }
        items.append(item)
        condition.broadcast()
        return true
    }

    /// The next item, waiting while the queue is empty. `nil` inside marks the end.
    func take() -> Result<PreparedBatch?, any Error> {
        condition.lock()
        defer { condition.unlock() }
        while items.isEmpty { condition.wait() }
        let item = items.removeFirst()
        condition.broadcast()
        return item
    }

    /// Tells the producer to stop (the consumer finished or failed).
    func cancel() {
        condition.lock()
        cancelled = true
        items.removeAll()
        condition.broadcast()
        condition.unlock()
    }
}

/// Reads, hashes and extracts on its own thread, handing batches to the writer through a `BatchPipe`.
final class BatchProducer: @unchecked Sendable {
    // `source` is touched only by `run()`, on the producer thread, after init.
    private let source: ReportSource
    private let extract: @Sendable (String) -> [Mention]
    private let batchSize: Int
    private let workers: Int
    private let pipe: BatchPipe

    init(source: ReportSource, extract: @escaping @Sendable (String) -> [Mention], batchSize: Int, workers: Int, pipe: BatchPipe) {
        self.source = source
        self.extract = extract
        self.batchSize = batchSize
        self.workers = workers
        self.pipe = pipe
    }

    func run() {
        var rowsRead = 0
        do {
            while true {
                var batch = PreparedBatch()
                var reports: [SourceReport] = []
                reports.reserveCapacity(batchSize)
                var ended = false
                while reports.count < batchSize {
                    guard let row = try source.next() else {
                        ended = true
                        break
                    }
                    rowsRead += 1
                    switch row {
                    case .report(let report): reports.append(report)
                    case .skipped(let skip): batch.skipped.append(skip)
                    }
                }
                let extracted = ReportImporter.extractAll(reports.map(\.text), extract: extract, workers: workers)
                batch.reports = zip(reports, extracted).map { report, mentions in
                    batch.counts.add(mentions)
                    return PreparedReport(
                        externalID: report.externalID, line: report.line, text: report.text,
                        hash: ContentHash.of(id: report.externalID, text: report.text), mentions: mentions.map(PreparedMention.init))
                }
                batch.rowsRead = rowsRead
                batch.bytesConsumed = source.bytesConsumed
                if !batch.reports.isEmpty || !batch.skipped.isEmpty {
                    guard pipe.put(.success(batch)) else { return }
                }
                if ended {
                    _ = pipe.put(.success(nil))
                    return
                }
            }
        } catch {
            _ = pipe.put(.failure(error))
        }
    }
}

/// The per-concept summary counts of one import, added to the summary tables at its end.
struct SummaryCounts: Sendable {
    struct Key: Hashable {
        var concept: String
        var value: String
    }
    struct AttributeKey: Hashable {
        var concept: String
        var attribute: String
        var value: String
    }
    var reports: [Key: Int] = [:]  // (concept, assertion) → reports
    var mentions: [Key: Int] = [:]  // (concept, assertion) → mentions
    var leads: [Key: Int] = [:]  // (concept, lead) → mentions
    var attributes: [AttributeKey: Int] = [:]
    var cooccurrence: [Key: Int] = [:]  // (concept, other) → reports where both are asserted (not negated)

    /// Adds another batch's counts.
    mutating func merge(_ other: SummaryCounts) {
        reports.merge(other.reports, uniquingKeysWith: +)
        mentions.merge(other.mentions, uniquingKeysWith: +)
        leads.merge(other.leads, uniquingKeysWith: +)
        attributes.merge(other.attributes, uniquingKeysWith: +)
        cooccurrence.merge(other.cooccurrence, uniquingKeysWith: +)
    }

    mutating func add(_ mentions: [Mention]) {
        if mentions.isEmpty { return }
        // A report has a handful of mentions: arrays and a lead bit mask beat hashed sets here.
        var seen: [Key] = []
        var asserted: [String] = []
        for mention in mentions {
            let key = Key(concept: mention.conceptID, value: mention.assertion.rawValue)
            self.mentions[key, default: 0] += 1
            if !seen.contains(key) {
                seen.append(key)
                reports[key, default: 0] += 1
            }
            var counted: UInt64 = 0
            for lead in mention.leads {
                let bit: UInt64 = 1 << UInt64(lead.rawValue & 63)
                guard counted & bit == 0 else { continue }
                counted |= bit
                leads[Key(concept: mention.conceptID, value: lead.name), default: 0] += 1
            }
            if let severity = mention.severity {
                attributes[AttributeKey(concept: mention.conceptID, attribute: "severity", value: severity), default: 0] += 1
            }
            if let acuity = mention.acuity {
                attributes[AttributeKey(concept: mention.conceptID, attribute: "acuity", value: acuity), default: 0] += 1
            }
            if let location = mention.location {
                attributes[AttributeKey(concept: mention.conceptID, attribute: "location", value: location), default: 0] += 1
            }
            if mention.assertion != .negated && !asserted.contains(mention.conceptID) { asserted.append(mention.conceptID) }
        }
        if asserted.count > 1 {
            for a in asserted {
                for b in asserted where b != a { cooccurrence[Key(concept: a, value: b), default: 0] += 1 }
            }
        }
    }

    func save(_ db: Database) throws {
        let reportCounts = try db.makeStatement(
            sql: """
                INSERT INTO concept_report_counts (concept_id, assertion, reports, mentions) VALUES (?, ?, ?, ?)
                ON CONFLICT (concept_id, assertion) DO UPDATE SET reports = reports + excluded.reports, mentions = mentions + excluded.mentions
                """)
        for (key, count) in reports {
            try reportCounts.execute(arguments: [key.concept, key.value, count, mentions[key, default: 0]])
        }
        let leadCounts = try db.makeStatement(
            sql: """
                INSERT INTO concept_lead_counts (concept_id, lead, mentions) VALUES (?, ?, ?)
                ON CONFLICT (concept_id, lead) DO UPDATE SET mentions = mentions + excluded.mentions
                """)
        for (key, count) in leads { try leadCounts.execute(arguments: [key.concept, key.value, count]) }
        let attributeCounts = try db.makeStatement(
            sql: """
                INSERT INTO concept_attribute_counts (concept_id, attribute, value, mentions) VALUES (?, ?, ?, ?)
                ON CONFLICT (concept_id, attribute, value) DO UPDATE SET mentions = mentions + excluded.mentions
                """)
        for (key, count) in attributes {
            try attributeCounts.execute(arguments: [key.concept, key.attribute, key.value, count])
        }
        let pairs = try db.makeStatement(
            sql: """
                INSERT INTO concept_cooccurrence (concept_id, other_id, reports) VALUES (?, ?, ?)
                ON CONFLICT (concept_id, other_id) DO UPDATE SET reports = reports + excluded.reports
                """)
        for (key, count) in cooccurrence { try pairs.execute(arguments: [key.concept, key.value, count]) }
    }
}

/// A 128-bit content hash of a report (two independent 64-bit FNV-1a style hashes), stored
/// unique so the same report is never added twice.
enum ContentHash {
    static func of(id: String, text: String) -> Data {
        var h1: UInt64 = 0xcbf2_9ce4_8422_2325
        var h2: UInt64 = 0x6c62_272e_07bb_0142
        @inline(__always) func mix(_ byte: UInt8) {
            h1 = (h1 ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
            h2 = (h2 ^ UInt64(byte)) &* 0x9e37_79b9_7f4a_7c15
            h2 = (h2 << 29) | (h2 >> 35)
        }
        var id = id
        var text = text
        id.withUTF8 { for byte in $0 { mix(byte) } }
        mix(0x1f)
        text.withUTF8 { for byte in $0 { mix(byte) } }
        return withUnsafeBytes(of: (h1.bigEndian, h2.bigEndian)) { Data($0) }
    }
}
