import ArgumentParser
import Classification
import Foundation
import Knowledge

/// `kmerl-batch nightly`: unattended incremental runs over an inbox.
struct Nightly: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Process new or changed records of an inbox into REPORTS/YYYY-MM-DD/, exactly once.",
        discussion: """
            Safe under cron or a systemd timer: a lock on REPORTS/.kmerl-nightly.lock keeps runs from \
            overlapping; a run killed at any moment is finished or discarded by the next start. Files \
            still being written are left for the next run.
            Exit codes: 0 all records reported this night succeeded; 3 some failed (this night or \
            earlier and not retried); 75 another run holds the lock; 1 nothing could be done.
            """
    )

    @Option(help: "The inbox folder (searched recursively; hidden files are ignored).")
    var inbox: String

    @Option(help: "The reports folder: night folders, index.html, history.csv.")
    var reports: String

    @Option(help: "The knowledge base holding the ledger (default: $KMERL_DB, else kmerl.sqlite).")
    var db: String?

    @Option(help: "Move all files of each processed record into ARCHIVE/NIGHT/ once its result is durable.")
    var archive: String?

    @Option(name: .customLong("keep-days"), help: "Remove night folders older than this many days.")
    var keepDays: Int?

    @Flag(name: .customLong("retry-failed"), help: "Retry records that failed before although unchanged.")
    var retryFailed = false

    @Option(name: .customLong("min-age"), help: "Seconds since a file's last change before it is taken.")
    var minAge: Double = 60

    @Option(help: "Seconds between the two looks at new files (size and time must not change).")
    var settle: Double = 2

    @OptionGroup var classifier: ClassifierOptions

    func run() async throws {
        let code: Int32
        do {
            code = try await runNight()
        } catch let busy as NightlyLock.Busy {
            FileHandle.standardError.write(Data("kmerl-batch nightly: \(busy.description)\n".utf8))
            throw ExitCode(75)
        } catch {
            let text = (error as? LocalizedError)?.errorDescription ?? String(describing: error)
            FileHandle.standardError.write(Data("kmerl-batch nightly: error: \(text)\n".utf8))
            throw ExitCode(1)
        }
        if code != 0 { throw ExitCode(code) }
    }

    private func runNight() async throws -> Int32 {
        if let keepDays, keepDays < 0 { throw NightlyError(path: "--keep-days", problem: "must be 0 or more") }
        guard minAge >= 0, settle >= 0 else { throw NightlyError(path: "--min-age/--settle", problem: "must be 0 or more") }
        let environment = ProcessInfo.processInfo.environment
        let dbPath = KnowledgeStore.defaultPath(db, environment: environment)
        let classifyOptions = try classifier.classifyOptions()
        var inboxIsFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: inbox, isDirectory: &inboxIsFolder), inboxIsFolder.boolValue else {
            throw NightlyError(path: inbox, problem: "--inbox: no such folder")
        }
        let store = try KnowledgeStore(path: dbPath)
        let modelData = try classifier.modelData()
        let options = NightlyOptions(
            inbox: URL(fileURLWithPath: inbox), reports: URL(fileURLWithPath: reports),
            archive: archive.map { URL(fileURLWithPath: $0) }, keepDays: keepDays, retryFailed: retryFailed,
            minimumAge: minAge, settleInterval: settle)
        let hooks = TestHooks(environment: environment)
        let settings = classifyOptions
        let processor = ClassifyingProcessor(store: store, delayPerRecord: hooks.delayPerRecord, haltAfterRecords: hooks.haltAfterRecords) {
            try BatchClassifier(store: store, modelData: modelData, options: settings)
        }
        let runner = NightlyRunner(options: options, ledger: store.nightly, processor: processor, pause: hooks.pause)
        let summary = try await runner.run()
        for note in summary.recovered { print("recovered: \(note)") }
        for waiting in summary.waiting { print("waiting: \(waiting.file): \(waiting.message)") }
        print("""
            night: \(summary.directory?.path ?? "nothing new")
            processed \(summary.processed), failed \(summary.failed), earlier failures not retried \(summary.carried), \
            abnormal \(summary.abnormal), unchanged \(summary.unchanged), waiting \(summary.waiting.count), \
            files hashed \(summary.hashedFiles), archived \(summary.archived), pruned \(summary.pruned.count), \
            \(String(format: "%.3f", summary.seconds)) s
            """)
        return summary.exitCode
    }
}

/// Hidden hooks for the process-level tests: `KMERL_NIGHTLY_TEST_DELAY_MS` slows each record;
/// `KMERL_NIGHTLY_TEST_PAUSE=PHASE` announces `paused at PHASE` on stderr and sleeps there, so
/// that a test can SIGKILL the run at that exact point; `KMERL_NIGHTLY_TEST_HALT_AFTER=N` stops
/// processing once N records are written (a deterministic "middle of processing").
struct TestHooks: Sendable {
    var delayPerRecord: TimeInterval = 0
    var haltAfterRecords: Int?
    var pausePhase: String?

    init(environment: [String: String]) {
        if let text = environment["KMERL_NIGHTLY_TEST_DELAY_MS"], let ms = Double(text) { delayPerRecord = ms / 1000 }
        if let text = environment["KMERL_NIGHTLY_TEST_HALT_AFTER"], let n = Int(text) { haltAfterRecords = n }
        pausePhase = environment["KMERL_NIGHTLY_TEST_PAUSE"]
    }

    var pause: @Sendable (NightlyPhase) async -> Void {
        let phase = pausePhase
        return { reached in
            guard reached.rawValue == phase else { return }
            FileHandle.standardError.write(Data("kmerl-batch nightly: paused at \(reached.rawValue)\n".utf8))
            try? await Task.sleep(nanoseconds: 600_000_000_000)
        }
    }
}
