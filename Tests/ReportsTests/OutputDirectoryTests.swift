import Foundation
import KMERLTestSupport
import Testing

@testable import Reports

@Suite struct OutputDirectoryTests {
    @Test func commitReplacesThePreviousSetAndLeavesNoStaging() throws {
        let parent = try SharedData.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: parent) }
        let out = parent.appendingPathComponent("out")
        let first = try OutputDirectory(destination: out)
        try first.write("{}", to: "run.json")
        try first.write("old", to: "stale.txt")
        try first.commit()
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("stale.txt").path))

        let second = try OutputDirectory(destination: out)
        try second.write("{\"n\":2}", to: "run.json")
        // Until commit, readers see the first set.
        #expect(try String(contentsOf: out.appendingPathComponent("run.json"), encoding: .utf8) == "{}")
        try second.commit()
        #expect(try String(contentsOf: out.appendingPathComponent("run.json"), encoding: .utf8) == "{\"n\":2}")
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("stale.txt").path))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: parent.path)
        #expect(leftovers == ["out"])
    }

    /// Record pages go straight into the staging folder (no temporary file): invisible at the
    /// destination until the commit, replaced whole by it, and a failure names the file.
    @Test func stagedPagesAppearOnlyWithTheCommit() throws {
        let parent = try SharedData.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: parent) }
        let out = parent.appendingPathComponent("out")
        let first = try OutputDirectory(destination: out)
        try first.write("{}", to: "run.json")
        try first.commit()
        let second = try OutputDirectory(destination: out)
        try FileManager.default.createDirectory(at: second.url("records"), withIntermediateDirectories: true)
        let page = String(repeating: "<p>ECG ≥ 120 ms</p>", count: 5_000)
        try OutputDirectory.writeStaged(page, to: second.url("records/1.html"))
        try OutputDirectory.writeStaged("short", to: second.url("records/1.html"))  // truncates
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("records/1.html").path))
        try second.write("{}", to: "run.json")
        try second.commit()
        #expect(try String(contentsOf: out.appendingPathComponent("records/1.html"), encoding: .utf8) == "short")
        try OutputDirectory.writeStaged(page, to: parent.appendingPathComponent("p.html"))
        #expect(try String(contentsOf: parent.appendingPathComponent("p.html"), encoding: .utf8) == page)
        let missing = parent.appendingPathComponent("no/such/folder/x.html")
        #expect {
            try OutputDirectory.writeStaged("x", to: missing)
        } throws: { error in
            (error as? ReportWriteError).map { "\($0)".contains(missing.path) } ?? false
        }
    }

    @Test func discardedSetLeavesNothingBehind() throws {
        let parent = try SharedData.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: parent) }
        do {
            let set = try OutputDirectory(destination: parent.appendingPathComponent("out"))
            try set.write("x", to: "index.html")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: parent.path).isEmpty)
    }

    @Test func refusesAFolderThatIsNotAReportSet() throws {
        let parent = try SharedData.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: parent) }
        try Data("mine".utf8).write(to: parent.appendingPathComponent("notes.txt"))
        #expect(throws: ReportWriteError.self) { try OutputDirectory(destination: parent) }
        #expect(FileManager.default.fileExists(atPath: parent.appendingPathComponent("notes.txt").path))
    }
}
