import ECGCore
import Foundation
import Knowledge

/// Options of a classification batch (`kmerl-batch classify` and `nightly`).
public struct ClassifyOptions: Sendable {
    /// Keep only these standard leads of every record (to match or simulate a device); `nil` keeps all.
    public var leads: Set<StandardLead>?
    /// Score only these concept ids; `nil` scores every concept the model can score.
    public var concepts: [String]?
    /// Records processed at once; defaults to the number of active cores.
    public var jobs: Int
    /// A directory of `.mustache` files replacing the embedded templates of the same name.
    public var templates: URL?
    /// Probability bands for the qualifiers.
    public var bands: QualifierBands
    /// How many findings the index, summary.csv and the lead labels show per record.
    public var topFindings: Int

    public init(
        leads: Set<StandardLead>? = nil, concepts: [String]? = nil, jobs: Int = ProcessInfo.processInfo.activeProcessorCount,
        templates: URL? = nil, bands: QualifierBands = QualifierBands(), topFindings: Int = 3
    ) {
        self.leads = leads
        self.concepts = concepts
        self.jobs = max(1, jobs)
        self.templates = templates
        self.bands = bands
        self.topFindings = max(1, topFindings)
    }
}

/// One record to classify: its name, the file to read it from and every file that belongs to it.
public struct BatchInput: Sendable, Hashable {
    /// The record's name (WFDB record name, file stem otherwise).
    public var id: String
    /// The file a reader opens (the `.hea` for WFDB).
    public var primary: URL
    /// All files of the record (header, signal files …).
    public var files: [URL]

    public init(id: String, primary: URL, files: [URL] = []) {
        self.id = id
        self.primary = primary
        self.files = files.isEmpty ? [primary] : files
    }
}

/// What happened to one record of a batch.
public struct RecordOutcome: Sendable, Codable, Hashable {
    /// The record's name.
    public var id: String
    /// The file the record was read from.
    public var source: String
    /// The record page relative to the output folder (`records/ID.html`), `nil` when it failed.
    public var page: String?
    /// The overall statement, `nil` when it failed.
    public var overall: OverallStatement?
    /// The findings reported (qualifier phrase), most probable first.
    public var topFindings: [String]
    /// `nil` when processed, otherwise why it failed.
    public var failure: String?

    public init(id: String, source: String, page: String?, overall: OverallStatement?, topFindings: [String], failure: String?) {
        self.id = id
        self.source = source
        self.page = page
        self.overall = overall
        self.topFindings = topFindings
        self.failure = failure
    }

    /// Whether the record was processed.
    public var isOK: Bool { failure == nil }
}

/// Time spent in each stage, summed over records (seconds of work, not wall time), plus wall time.
public struct StageDurations: Sendable, Codable, Hashable {
    public var read: Double = 0
    public var measure: Double = 0
    public var score: Double = 0
    public var render: Double = 0
    public var store: Double = 0
    /// Wall-clock time of the whole batch.
    public var total: Double = 0

    public init() {}

    mutating func add(_ other: StageDurations) {
        read += other.read
        measure += other.measure
        score += other.score
        render += other.render
    }
}

/// The result of a batch: counts, each record's outcome in output order, and durations.
public struct BatchSummary: Sendable, Codable {
    /// The run's id (also in run.json and the knowledge base).
    public var runID: String
    /// Records processed.
    public var processed: Int
    /// Records (or input files) that could not be processed, including files discovery skipped.
    public var failed: Int
    /// Processed records whose overall statement is "abnormal ECG".
    public var abnormal: Int
    /// Every record in output order, then the skipped inputs.
    public var outcomes: [RecordOutcome]
    public var durations: StageDurations
    /// Where the report set was written.
    public var outputDirectory: URL
    public var modelVersion: String
    public var knowledgeBaseVersion: String

    /// 0 when every input was processed, 3 when some (or all) inputs failed and are listed in the
    /// reports, 1 when there was nothing to process at all.
    public var exitCode: Int32 {
        if failed > 0 { return 3 }
        return processed == 0 ? 1 : 0
    }
}
