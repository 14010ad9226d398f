import Foundation
import KMERLModel
import KMERLTestSupport
import Knowledge
import Testing

@testable import Classification

#if canImport(Glibc)
import Glibc
#endif

/// A `kmerl-batch` child process with its output collected.
final class BatchChild: @unchecked Sendable {
    let process = Process()
    private let lock = NSLock()
    private var out = Data()
    private var err = Data()

    /// The built `kmerl-batch` next to the test bundle (or `.build/debug`), or a clear failure.
    static func binary() throws -> URL {
        let environment = ProcessInfo.processInfo.environment
        var candidates: [URL] = []
        if let path = environment["KMERL_BATCH_BINARY"], !path.isEmpty { candidates.append(URL(fileURLWithPath: path)) }
        candidates.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("kmerl-batch"))
        candidates.append(Bundle.main.bundleURL.appendingPathComponent("kmerl-batch"))
        candidates.append(Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("kmerl-batch"))
        candidates.append(SharedData.projectRoot.appendingPathComponent(".build/debug/kmerl-batch"))
        if let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) { return found }
        struct Missing: Error, CustomStringConvertible {
            let tried: [URL]
            var description: String {
                "the kmerl-batch executable was not found (build it with `swift build`); looked at: "
                    + tried.map(\.path).joined(separator: ", ")
            }
        }
        throw Missing(tried: candidates)
    }

    /// Starts `kmerl-batch nightly` with `arguments` and extra environment.
    init(_ arguments: [String], environment extra: [String: String] = [:]) throws {
        process.executableURL = try BatchChild.binary()
        process.arguments = ["nightly"] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment.merge(extra) { $1 }
        process.environment = environment
        let outPipe = Pipe(), errPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        outPipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self else { return }
            self.lock.withLock { self.out.append(data) }
        }
        errPipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self else { return }
            self.lock.withLock { self.err.append(data) }
        }
        try process.run()
    }

    var stdout: String { lock.withLock { String(decoding: out, as: UTF8.self) } }
    var stderr: String { lock.withLock { String(decoding: err, as: UTF8.self) } }

    /// Waits until `condition` holds (polling), up to `seconds`.
    static func wait(_ seconds: Double, until condition: () -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
        return condition()
    }

    /// Waits for the exit (killing the child after `seconds`) and returns the exit status.
    func finish(within seconds: Double = 60) async -> Int32 {
        if !(await BatchChild.wait(seconds, until: { !process.isRunning })) { kill() }
        process.waitUntilExit()
        try? await Task.sleep(nanoseconds: 50_000_000)  // let the pipes drain
        return process.terminationStatus
    }

    /// SIGKILL.
    func kill() {
        if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}

/// Runs `kmerl-batch nightly` to the end.
@discardableResult
func nightly(_ arguments: [String], environment: [String: String] = [:]) async throws -> (status: Int32, out: String, err: String) {
    let child = try BatchChild(arguments, environment: environment)
    let status = await child.finish()
    return (status, child.stdout, child.stderr)
}

@Suite("Nightly runs as real processes", .serialized)
struct NightlyProcessTests {
    /// A work area: inbox of `records` PTB-XL records, reports, archive, knowledge base.
    struct Area {
        let inbox: URL, reports: URL, archive: URL, db: URL, model: URL
        var names: [String]

        init(records: Int) throws {
            let root = try SharedData.temporaryDirectory("kmerl-nightly-process")
            inbox = try NightlyFixtures.inbox(ptbxl: records, into: root.appendingPathComponent("inbox"))
            reports = root.appendingPathComponent("reports")
            archive = root.appendingPathComponent("archive")
            db = root.appendingPathComponent("kb.sqlite")
            // The mechanics under test do not depend on the weights: an untrained encoder keeps
            // the test independent of the embedded default model.
            model = root.appendingPathComponent("model.safetensors")
            try KMERLEncoderModel.untrained(seed: 7).write(to: model)
            names = try FileManager.default.contentsOfDirectory(atPath: inbox.path)
                .filter { $0.hasSuffix(".hea") }.map { ($0 as NSString).deletingPathExtension }.sorted()
        }

        func arguments(archive useArchive: Bool = false, minAge: String = "0", settle: String = "0.05") -> [String] {
            ["--inbox", inbox.path, "--reports", reports.path, "--db", db.path, "--model", model.path,
             "--min-age", minAge, "--settle", settle, "--jobs", "2"]
                + (useArchive ? ["--archive", archive.path] : [])
        }

        /// Every record reported exactly once, nothing temporary left, archive complete.
        func expectExactlyOnce(archived: Bool, _ comment: Comment) throws {
            let reported = try NightlyFixtures.reportedRecords(in: reports)
            #expect(reported == Dictionary(uniqueKeysWithValues: names.map { ($0, 1) }), comment)
            #expect(NightlyFixtures.leftovers(in: reports).isEmpty, comment)
            let history = try String(contentsOf: reports.appendingPathComponent("history.csv"), encoding: .utf8)
            let processed = history.split(separator: "\n").dropFirst()
                .compactMap { Int($0.split(separator: ",", omittingEmptySubsequences: false)[4]) }.reduce(0, +)
            #expect(processed == names.count, comment)
            // The knowledge base holds one stored result per record (discarded nights removed).
            let store = try KnowledgeStore(path: db.path)
            #expect(try store.nightlyStoredResultCounts() == Dictionary(uniqueKeysWithValues: names.map { ($0, 1) }), comment)
            if archived {
                let left = try FileManager.default.contentsOfDirectory(atPath: inbox.path)
                #expect(left.isEmpty, comment)
                #expect(NightlyFixtures.leftovers(in: archive).isEmpty, comment)
                var moved: [String] = []
                for night in try FileManager.default.contentsOfDirectory(atPath: archive.path) {
                    let files = try FileManager.default.contentsOfDirectory(atPath: archive.appendingPathComponent(night).path)
                    // all files of a record in the same night folder
                    for name in Set(files.map { ($0 as NSString).deletingPathExtension }) {
                        #expect(files.contains("\(name).hea") && files.contains("\(name).dat"), comment)
                    }
                    moved += files
                }
                #expect(moved.count == names.count * 2, comment)
            }
        }
    }

    @Test("SIGKILL in the middle of processing, then a new run: every record exactly once, no partial file")
    func killDuringProcessing() async throws {
        let area = try Area(records: 6)
        // The child halts once two records are written, so the kill lands mid-run even when the
        // test's polling is starved by other suites on a 2-core machine.
        let child = try BatchChild(area.arguments(), environment: ["KMERL_NIGHTLY_TEST_HALT_AFTER": "2"])
        let midway = await BatchChild.wait(60) {
            // classify writes record pages into its own partial folder inside the staging area
            let names = (try? FileManager.default.contentsOfDirectory(atPath: area.reports.path)) ?? []
            return names.filter { $0.contains("staging-") }.contains { name in
                let pages = (try? FileManager.default.contentsOfDirectory(
                    atPath: area.reports.appendingPathComponent(name).appendingPathComponent("records").path)) ?? []
                return pages.count >= 2
            }
        }
        child.kill()
        #expect(midway, "the run never reached the middle of processing: \(child.stderr)")
        #expect(try NightlyFixtures.nightFolders(in: area.reports).isEmpty)  // nothing visible from the killed run

        let again = try await nightly(area.arguments())
        #expect(again.status == 0, "\(again.err)")
        #expect(again.out.contains("discarded"))
        try area.expectExactlyOnce(archived: false, "after a kill during processing")
        let quiet = try await nightly(area.arguments())
        #expect(quiet.status == 0 && quiet.out.contains("processed 0,") && quiet.out.contains("unchanged 6"))
    }

    @Test("SIGKILL at every step between processing and archiving, then a new run: exactly once, archive complete",
          arguments: ["processed", "outcomes-stored", "published", "committed", "archiving"])
    func killAtPhase(_ phase: String) async throws {
        let area = try Area(records: 3)
        let child = try BatchChild(area.arguments(archive: true), environment: ["KMERL_NIGHTLY_TEST_PAUSE": phase])
        let paused = await BatchChild.wait(30) { child.stderr.contains("paused at \(phase)") }
        child.kill()
        #expect(paused, "the run never paused at \(phase): \(child.stderr)")

        let again = try await nightly(area.arguments(archive: true))
        #expect(again.status == 0, "\(again.err)")
        try area.expectExactlyOnce(archived: true, "after a kill at \(phase)")
        let folders = try NightlyFixtures.nightFolders(in: area.reports)
        // Killed before publication: the rerun's night is the only one; after: the killed run's night is kept.
        #expect(folders.count == 1, "\(folders)")
        let quiet = try await nightly(area.arguments(archive: true))
        #expect(quiet.status == 0 && quiet.out.contains("processed 0,"))
    }

    @Test("Two concurrent runs: the second exits at once with 75 and a clear message")
    func concurrentRuns() async throws {
        let area = try Area(records: 2)
        let first = try BatchChild(area.arguments(), environment: ["KMERL_NIGHTLY_TEST_PAUSE": "scanned"])
        defer { first.kill() }
        #expect(await BatchChild.wait(30) { first.stderr.contains("paused at scanned") }, "\(first.stderr)")
        let started = Date()
        let second = try await nightly(area.arguments())
        #expect(second.status == 75)
        #expect(second.err.contains("another kmerl-batch nightly run holds the lock"))
        #expect(second.err.contains("pid \(first.process.processIdentifier)"))
        #expect(Date().timeIntervalSince(started) < 10)
        first.kill()
        let after = try await nightly(area.arguments())
        #expect(after.status == 0, "\(after.err)")
        try area.expectExactlyOnce(archived: false, "after the lock was released by a kill")
    }

    @Test("Files arriving during a run, being written, or too recent are processed by a later run, complete")
    func arrivingFiles() async throws {
        var area = try Area(records: 3)
        // Too recent for the default minimum age: nothing taken.
        let young = try await nightly(area.arguments(minAge: "600"))
        #expect(young.status == 0)
        #expect(young.out.contains("processed 0,") && young.out.contains("waiting 3"))

        // A record copied in while a run is processing is not part of that run.
        let source = try SharedData.url("ptbxl/records100/00000")
        let child = try BatchChild(area.arguments(), environment: ["KMERL_NIGHTLY_TEST_DELAY_MS": "200"])
        #expect(await BatchChild.wait(30) {
            (try? FileManager.default.contentsOfDirectory(atPath: area.reports.path))?.contains { $0.hasPrefix(".staging-") } == true
        })
        try NightlyFixtures.copy(source.appendingPathComponent("00085_lr.hea"), to: area.inbox.appendingPathComponent("00085_lr.hea"))
        try NightlyFixtures.copy(source.appendingPathComponent("00085_lr.dat"), to: area.inbox.appendingPathComponent("00085_lr.dat"))
        #expect(await child.finish() == 0, "\(child.stderr)")
        #expect(child.stdout.contains("processed 3,"))

        // A record whose signal file is still being written while the next run looks.
        let header = area.inbox.appendingPathComponent("00103_lr.hea")
        let signal = area.inbox.appendingPathComponent("00103_lr.dat")
        let full = try Data(contentsOf: source.appendingPathComponent("00103_lr.dat"))
        try NightlyFixtures.copy(source.appendingPathComponent("00103_lr.hea"), to: header)
        try full.prefix(2_000).write(to: signal)
        let writer = Task.detached {
            let handle = try FileHandle(forWritingTo: signal)
            try handle.seekToEnd()
            var offset = 2_000
            while offset < full.count {
                try await Task.sleep(nanoseconds: 40_000_000)
                let end = min(full.count, offset + 500)
                try handle.write(contentsOf: full[offset..<end])
                offset = end
            }
            try handle.close()
        }
        let during = try await nightly(area.arguments(settle: "0.5"))
        #expect(during.status == 0, "\(during.err)")
        #expect(during.out.contains("processed 1,"))  // 00085_lr only
        #expect(during.out.contains("waiting: 00103_lr.hea"))
        try await writer.value

        let after = try await nightly(area.arguments())
        #expect(after.status == 0, "\(after.err)")
        #expect(after.out.contains("processed 1,"))
        area.names += ["00085_lr", "00103_lr"]
        try area.expectExactlyOnce(archived: false, "after files arrived during runs")
        // The record was read complete: classified as the whole 10 s, and the ledger holds the
        // hash of the full files.
        let folders = try NightlyFixtures.nightFolders(in: area.reports)
        let summary = try String(contentsOf: area.reports.appendingPathComponent(folders.last ?? "").appendingPathComponent("summary.csv"), encoding: .utf8)
        let row = try #require(summary.split(separator: "\n").first { $0.hasPrefix("00103_lr,") })
        let fields = row.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        #expect(fields[3] == "ok" && fields[6] == "10", "\(row)")
        let expected = InboxScanner.recordHash(
            InboxRecord(key: "00103_lr.hea", name: "00103_lr", inbox: area.inbox, files: ["00103_lr.dat", "00103_lr.hea"]),
            fileHashes: [SHA256Digest.hex(of: [UInt8](full)), try SHA256Digest.hex(ofFile: header)])
        let entries = try KnowledgeStore(path: area.db.path).nightly.entries(inbox: area.inbox.resolvingSymlinksInPath().path)
        #expect(entries["00103_lr.hea"]?.contentHash == expected)
        #expect(entries["00103_lr.hea"]?.status == .ok)
    }
}
