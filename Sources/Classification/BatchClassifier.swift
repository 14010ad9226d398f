import ECGCore
import ECGSignal
import Foundation
import Knowledge
import Reports

/// Where a batch stores its run and record results (the knowledge base).
public protocol BatchResultStore: Sendable {
    /// Records the start of a run.
    func beginRun(_ run: StoredClassificationRun) throws
    /// Stores a batch of record results of run `runID`.
    func storeResults(_ results: [StoredRecordResult], runID: String) throws
    /// Records the end of a run with its counts.
    func finishRun(id: String, finishedAt: Date, processed: Int, failed: Int, abnormal: Int) throws
}

/// Classifies a batch of records and writes the report set: `index.html`, `records/ID.html`,
/// `findings.csv`, `summary.csv` and `run.json`, and stores the run in the knowledge base.
///
/// Records run in parallel (at most `options.jobs` at once). Each record's page is rendered as
/// soon as its result is ready and only a small summary is kept, so memory stays constant in the
/// number of records; CSV rows are written in input order through a small reorder window, so the
/// output is deterministic. The set is built in a staging folder and replaces `--out` at the end.
public struct BatchClassifier: Sendable {
    /// The single-record classifier.
    public let classifier: RecordClassifier
    /// Where the run is stored, if anywhere.
    public let store: (any BatchResultStore)?
    /// The knowledge base's version, for run.json.
    public let knowledgeBaseVersion: String
    let renderer: HTMLRenderer
    /// Preformatted `concept_id,label,codes` cells of findings.csv, by concept id.
    let conceptCells: [String: [UInt8]]

    /// Wires a batch from its parts.
    public init(classifier: RecordClassifier, store: (any BatchResultStore)?, knowledgeBaseVersion: String) throws {
        self.classifier = classifier
        self.store = store
        self.knowledgeBaseVersion = knowledgeBaseVersion
        self.renderer = try HTMLRenderer(overrides: classifier.options.templates)
        self.conceptCells = ReportBuilder.conceptCells(classifier.concepts, codes: classifier.codes)
    }

    /// The options the batch runs with.
    public var options: ClassifyOptions { classifier.options }

    /// What a finished record hands back to the collector: rows and a summary, no signals.
    struct Processed: Sendable {
        var index: Int
        /// `findings.csv` lines of the record, formatted.
        var findingLines: [UInt8]
        var summaryRow: [CSVCell]
        var indexRow: IndexRow
        var stored: StoredRecordResult
        var outcome: RecordOutcome
        var durations: StageDurations
        var abnormal: Bool
    }

    /// Classifies `inputs` (sorted by path for a deterministic order) and writes the report set
    /// into `outputDirectory`, replacing a previous set there. `skipped` are the inputs discovery
    /// could not use (unreadable headers, missing signal files, non-ECG files); each counts as failed and is listed.
    /// `progress` is called with (done, total) as records finish.
    public func classify(
        _ inputs: [BatchInput], skipped: [Diagnostic], into outputDirectory: URL, inputPaths: [String] = [],
        progress: (@Sendable (Int, Int) -> Void)? = nil
    ) async throws -> BatchSummary {
        let clock = ContinuousClock()
        let started = clock.now
        let startDate = Date()
        let runID = UUID().uuidString.lowercased()
        let ordered = inputs.sorted { $0.primary.path < $1.primary.path }
        let pages = Self.pageNames(ordered.map(\.id))
        let output = try OutputDirectory(destination: outputDirectory)
        defer { output.discard() }
        try FileManager.default.createDirectory(at: output.url("records"), withIntermediateDirectories: true)
        let findingsCSV = try CSVFileWriter(url: output.url("findings.csv"), header: ReportBuilder.findingsHeader)
        let summaryCSV = try CSVFileWriter(url: output.url("summary.csv"), header: ReportBuilder.summaryHeader)
        let optionsJSON = Self.json(RunManifest.Options(options))
        let inputsList = inputPaths.isEmpty ? ordered.map(\.primary.path) : inputPaths
        if let store {
            try store.beginRun(
                StoredClassificationRun(
                    id: runID, startedAt: startDate, inputsJSON: Self.json(inputsList), output: output.destination.path,
                    modelVersion: classifier.scorer.version, knowledgeBaseVersion: knowledgeBaseVersion, optionsJSON: optionsJSON))
        }

        var indexRows: [IndexRow] = []
        var outcomes: [RecordOutcome] = []
        var durations = StageDurations()
        var processed = 0
        var failed = 0
        var abnormal = 0
        var pendingStore: [StoredRecordResult] = []
        let total = ordered.count
        let window = max(2, options.jobs * 4)

        func flush(_ item: Processed) throws {
            try findingsCSV.writeFormatted(item.findingLines)
            try summaryCSV.write(item.summaryRow)
            indexRows.append(item.indexRow)
            outcomes.append(item.outcome)
            durations.add(item.durations)
            if item.outcome.isOK { processed += 1 } else { failed += 1 }
            if item.abnormal { abnormal += 1 }
            // Without a knowledge base nothing is kept, so memory stays flat in the folder's size.
            if store != nil { pendingStore.append(item.stored) }
            if pendingStore.count >= 64, let store {
                let t = clock.now
                try store.storeResults(pendingStore, runID: runID)
                durations.store += (clock.now - t).seconds
                pendingStore.removeAll(keepingCapacity: true)
            }
        }

        try await withThrowingTaskGroup(of: Processed.self) { group in
            var next = 0
            var nextToFlush = 0
            var ready: [Int: Processed] = [:]
            let classifier = self.classifier
            let renderer = self.renderer
            let storing = self.store != nil
            let conceptCells = self.conceptCells
            let options = self.options
            let staging = output.staging
            func submit() {
                while next < total && next < nextToFlush + window && next - nextToFlush - ready.count < options.jobs {
                    let i = next
                    let input = ordered[i]
                    let page = pages[i]
                    group.addTask {
                        Self.process(index: i, input: input, page: page, classifier: classifier, renderer: renderer, staging: staging, storing: storing,
                            conceptCells: conceptCells)
                    }
                    next += 1
                }
            }
            submit()
            while let item = try await group.next() {
                ready[item.index] = item
                while let head = ready.removeValue(forKey: nextToFlush) {
                    try flush(head)
                    nextToFlush += 1
                    progress?(nextToFlush, total)
                }
                submit()
            }
        }

        // Inputs discovery could not use.
        for diagnostic in skipped.sorted(by: { $0.file < $1.file }) {
            let id = URL(fileURLWithPath: diagnostic.file).deletingPathExtension().lastPathComponent
            try summaryCSV.write(ReportBuilder.failureRow(id: id, source: diagnostic.file, reason: diagnostic.message))
            indexRows.append(IndexRow(id: id, source: diagnostic.file, format: "", page: nil, leads: [], quality: nil, overall: nil, heartRate: nil, qrs: nil, top: [], failure: diagnostic.message))
            outcomes.append(RecordOutcome(id: id, source: diagnostic.file, page: nil, overall: nil, topFindings: [], failure: diagnostic.message))
            pendingStore.append(StoredRecordResult(recordID: id, source: diagnostic.file, status: "failed", reason: diagnostic.message))
            failed += 1
        }
        try findingsCSV.close()
        try summaryCSV.close()
        if let store, !pendingStore.isEmpty {
            let t = clock.now
            try store.storeResults(pendingStore, runID: runID)
            durations.store += (clock.now - t).seconds
        }

        // index.html and run.json complete the set.
        let failures = outcomes.filter { !$0.isOK }.map { ["source": $0.source, "reason": $0.failure ?? ""] }
        let t = clock.now
        let index = try renderer.render(
            "index",
            [
                "title": output.destination.lastPathComponent, "runID": runID, "generated": Self.iso(startDate),
                "modelVersion": classifier.scorer.version, "kbVersion": knowledgeBaseVersion,
                "inputs": inputsList.joined(separator: ", "), "total": processed + failed, "processed": processed,
                "failed": failed, "abnormal": abnormal, "rows": indexRows.filter { $0.failure == nil }.map { $0.context() },
                "hasFailures": !failures.isEmpty, "failures": failures,
                "bands": [
                    "consider": ReportBuilder.p(options.bands.consider), "possible": ReportBuilder.p(options.bands.possible),
                    "probable": ReportBuilder.p(options.bands.probable), "definite": ReportBuilder.p(options.bands.definite),
                ],
            ])
        try output.write(index, to: "index.html")
        durations.render += (clock.now - t).seconds
        durations.total = (clock.now - started).seconds
        let finished = Date()
        let manifest = RunManifest(
            runID: runID, started: Self.iso(startDate), finished: Self.iso(finished), inputs: inputsList,
            output: output.destination.path, options: RunManifest.Options(options), modelVersion: classifier.scorer.version,
            knowledgeBaseVersion: knowledgeBaseVersion, conceptsScored: classifier.concepts.count,
            counts: .init(records: processed + failed, processed: processed, failed: failed, abnormal: abnormal),
            durations: durations, errors: outcomes.filter { !$0.isOK }.map { .init(source: $0.source, reason: $0.failure ?? "") },
            records: outcomes)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try OutputDirectory.writeAtomically(try encoder.encode(manifest), to: output.url("run.json"))
        try output.commit()
        if let store {
            try store.finishRun(id: runID, finishedAt: finished, processed: processed, failed: failed, abnormal: abnormal)
        }
        return BatchSummary(
            runID: runID, processed: processed, failed: failed, abnormal: abnormal, outcomes: outcomes, durations: durations,
            outputDirectory: output.destination, modelVersion: classifier.scorer.version, knowledgeBaseVersion: knowledgeBaseVersion)
    }

    /// Classifies one input and renders its page; a failure becomes a failed outcome, not an error.
    static func process(
        index: Int, input: BatchInput, page: String, classifier: RecordClassifier, renderer: HTMLRenderer, staging: URL, storing: Bool,
        conceptCells: [String: [UInt8]] = [:]
    ) -> Processed {
        var timings = RecordTimings()
        var durations = StageDurations()
        do {
            let result = try classifier.classify(input, timings: &timings)
            durations.read = timings.read
            durations.measure = timings.measure
            durations.score = timings.score
            let clock = ContinuousClock()
            let start = clock.now
            let top = ReportBuilder.top(
                result, count: classifier.options.topFindings, deciding: classifier.deciding, aggregates: classifier.aggregates,
                order: classifier.statementOrder, rule: classifier.rule)
            let context = ReportBuilder.recordContext(result, top: top, modelVersion: classifier.scorer.version)
            let html = try renderer.render("record", context)
            let relative = "records/\(page).html"
            // Straight into the staging folder: it is renamed into place as a whole at the end.
            try OutputDirectory.writeStaged(html, to: staging.appendingPathComponent(relative))
            var findingLines: [UInt8] = []
            findingLines.reserveCapacity(result.findings.count * 160)
            ReportBuilder.appendFindingLines(result, conceptCells: conceptCells, to: &findingLines)
            let summaryRow = ReportBuilder.summaryRow(result, top: top)
            durations.render = (clock.now - start).seconds
            var measurements = result.measurements
            measurements.beats = []
            let stored = StoredRecordResult(
                recordID: result.recordID, source: result.source, status: "ok", format: result.format.rawValue,
                leadsPresent: ReportBuilder.leadsText(result.leadsPresent), overall: result.overall.rawValue, quality: result.quality,
                measurementsJSON: storing ? json(measurements) : nil, findingsJSON: storing ? json(result.reportedFindings) : nil,
                reported: storing
                    ? result.reportedFindings.map {
                        .init(conceptID: $0.conceptID, probability: $0.probability, qualifier: ReportBuilder.qualifierText($0.qualifier))
                    } : [])
            let topPairs = top.map { (phrase: ReportBuilder.phrase($0), probability: $0.probability) }
            return Processed(
                index: index, findingLines: findingLines, summaryRow: summaryRow,
                indexRow: IndexRow(
                    id: result.recordID, source: result.source, format: result.format.rawValue, page: relative, leads: result.leadsPresent,
                    quality: result.quality, overall: result.overall, heartRate: result.measurements.heartRate,
                    qrs: result.measurements.qrsDuration, top: topPairs, failure: nil),
                stored: stored,
                outcome: RecordOutcome(id: result.recordID, source: result.source, page: relative, overall: result.overall, topFindings: topPairs.map(\.phrase), failure: nil),
                durations: durations, abnormal: result.overall == .abnormal)
        } catch {
            let reason = Self.reason(error, file: input.primary.path)
            return Processed(
                index: index, findingLines: [], summaryRow: ReportBuilder.failureRow(id: input.id, source: input.primary.path, reason: reason),
                indexRow: IndexRow(id: input.id, source: input.primary.path, format: "", page: nil, leads: [], quality: nil, overall: nil, heartRate: nil, qrs: nil, top: [], failure: reason),
                stored: StoredRecordResult(recordID: input.id, source: input.primary.path, status: "failed", reason: reason),
                outcome: RecordOutcome(id: input.id, source: input.primary.path, page: nil, overall: nil, topFindings: [], failure: reason),
                durations: durations, abnormal: false)
        }
    }

    /// A failure's reason without repeating the file name the row already shows.
    static func reason(_ error: any Error, file: String) -> String {
        var text = (error as? LocalizedError)?.errorDescription ?? String(describing: error)
        if text.hasPrefix(file + ": ") { text.removeFirst(file.count + 2) }
        return text
    }

    /// File-system-safe, unique page names for record ids (`a/b` → `a_b`, a second `100` → `100-2`).
    static func pageNames(_ ids: [String]) -> [String] {
        var used: [String: Int] = [:]
        return ids.map { id in
            var base = String(id.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." ? $0 : "_" })
            if base.isEmpty || base.hasPrefix(".") { base = "record" + base }
            let count = (used[base.lowercased()] ?? 0) + 1
            used[base.lowercased()] = count
            return count == 1 ? base : "\(base)-\(count)"
        }
    }

    static func json<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return (try? encoder.encode(value)).flatMap { String(data: $0, encoding: .utf8) } ?? "null"
    }

    static func iso(_ date: Date) -> String {
        ISO8601DateFormatter().string(from: date)
    }
}

/// The content of `run.json`.
struct RunManifest: Codable {
    struct Options: Codable {
        var leads: [String]?
        var concepts: [String]?
        var jobs: Int
        var templates: String?
        var bands: QualifierBands
        var topFindings: Int

        init(_ o: ClassifyOptions) {
            leads = o.leads.map { $0.sorted().map(\.name) }
            concepts = o.concepts
            jobs = o.jobs
            templates = o.templates?.path
            bands = o.bands
            topFindings = o.topFindings
        }
    }

    struct Counts: Codable {
        var records: Int
        var processed: Int
        var failed: Int
        var abnormal: Int
    }

    struct Failure: Codable {
        var source: String
        var reason: String
    }

    var runID: String
    var started: String
    var finished: String
    var inputs: [String]
    var output: String
    var options: Options
    var modelVersion: String
    var knowledgeBaseVersion: String
    var conceptsScored: Int
    var counts: Counts
    var durations: StageDurations
    var errors: [Failure]
    var records: [RecordOutcome]
}
