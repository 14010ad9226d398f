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
        return try store.write("import \(url.path)") { db in
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
                    INSERT INTO reports (import_run_id, source_file, source_format, external_id, line, text, content_hash)
                    VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (content_hash) DO NOTHING
                    """)
            let insertMention = try BoundInsert(
                db,
                sql: """
                    INSERT INTO mentions (report_id, concept_id, start, "end", assertion, leads, lead_mask, location, severity, acuity)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
            var counts = SummaryCounts()
            var rowsRead = 0
            var added = 0
            var present = 0
            var mentionCount = 0
            var skipped = 0
            var skippedByReason: [String: Int] = [:]
            var skippedExamples: [String] = []
            let formatName = source.format.rawValue
            // Rows are taken in batches: new reports are inserted (learning which are new), their
            // mentions extracted in parallel (bounded by the core count), then inserted in order.
            var batch: [(id: Int64, text: String)] = []
            batch.reserveCapacity(batchSize)
            func flush() throws {
                let extracted = Self.extractAll(batch.map(\.text), extract: extract, parallel: parallel)
                for (report, mentions) in zip(batch, extracted) {
                    for mention in mentions {
                        insertMention.bind(1, report.id)
                        insertMention.bind(2, mention.conceptID)
                        insertMention.bind(3, mention.start)
                        insertMention.bind(4, mention.end)
                        insertMention.bind(5, mention.assertion.rawValue)
                        insertMention.bind(6, LeadSet.text(mention.leads))
                        insertMention.bind(7, LeadSet.mask(mention.leads))
                        insertMention.bind(8, mention.location)
                        insertMention.bind(9, mention.severity)
                        insertMention.bind(10, mention.acuity)
                        try insertMention.execute()
                    }
                    mentionCount += mentions.count
                    counts.add(mentions)
                }
                batch.removeAll(keepingCapacity: true)
            }
            while let row = try source.next() {
                rowsRead += 1
                if rowsRead & 4095 == 0, let progress {
                    progress(ImportProgress(rowsRead: rowsRead, bytesRead: source.bytesConsumed, totalBytes: totalBytes))
                }
                let report: SourceReport
                switch row {
                case .skipped(let skip):
                    skipped += 1
                    let kind = skip.reason.split(separator: "(").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? skip.reason
                    skippedByReason[kind, default: 0] += 1
                    if skippedExamples.count < 100 { skippedExamples.append(skip.description) }
                    continue
                case .report(let value):
                    report = value
                }
                let hash = ContentHash.of(id: report.externalID, text: report.text)
                insertReport.bind(1, runID)
                insertReport.bind(2, file)
                insertReport.bind(3, formatName)
                insertReport.bind(4, report.externalID)
                insertReport.bind(5, report.line)
                insertReport.bind(6, report.text)
                insertReport.bind(7, hash)
                try insertReport.execute()
                if db.changesCount == 0 {
                    present += 1
                    continue
                }
                added += 1
                batch.append((db.lastInsertedRowID, report.text))
                if batch.count >= batchSize { try flush() }
            }
            try flush()
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
    /// `extract` applied to every text, in order; spread over the cores when `parallel`.
    static func extractAll(_ texts: [String], extract: @Sendable (String) -> [Mention], parallel: Bool) -> [[Mention]] {
        let workers = parallel ? min(ProcessInfo.processInfo.activeProcessorCount, max(1, texts.count / 256)) : 1
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

/// The per-concept summary counts of one import, added to the summary tables at its end.
struct SummaryCounts {
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

    mutating func add(_ mentions: [Mention]) {
        if mentions.isEmpty { return }
        var seen = Set<Key>()
        var asserted: [String] = []
        for mention in mentions {
            let key = Key(concept: mention.conceptID, value: mention.assertion.rawValue)
            self.mentions[key, default: 0] += 1
            if seen.insert(key).inserted { reports[key, default: 0] += 1 }
            for lead in Set(mention.leads) {
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
