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
