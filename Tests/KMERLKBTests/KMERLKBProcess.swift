import Foundation
import KMERLTestSupport

/// One finished run of the built `kmerl-kb` executable: exit status and both output streams.
struct KMERLKBRun {
    var status: Int32
    var stdout: String
    var stderr: String

    /// The standard output parsed as a JSON object (or a failure naming the output).
    func json() throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any] else {
            throw KMERLKBProcess.Failure(description: "stdout is not a JSON object: \(stdout.prefix(200))")
        }
        return object
    }
}

/// Runs the `kmerl-kb` executable built with the package, as a user would.
enum KMERLKBProcess {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The built `kmerl-kb` next to the test bundle (or `.build/debug`), or a clear failure.
    static func binary() throws -> URL {
        var candidates: [URL] = []
        if let path = ProcessInfo.processInfo.environment["KMERL_KB_BINARY"], !path.isEmpty {
            candidates.append(URL(fileURLWithPath: path))
        }
        let here = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        candidates.append(here.appendingPathComponent("kmerl-kb"))
        candidates.append(Bundle.main.bundleURL.appendingPathComponent("kmerl-kb"))
        candidates.append(Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("kmerl-kb"))
        candidates.append(SharedData.projectRoot.appendingPathComponent(".build/debug/kmerl-kb"))
        if let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) { return found }
        throw Failure(
            description: "the kmerl-kb executable was not found (build it with `swift build`); looked at: "
                + candidates.map(\.path).joined(separator: ", "))
    }

    /// Runs `kmerl-kb arguments…` in `directory` with `environment` added to (and `KMERL_DB` removed
    /// from, unless given) the test's own environment. Output goes through files, so a large output
    /// cannot block the child on a full pipe.
    static func run(_ arguments: [String], in directory: URL, environment extra: [String: String] = [:]) throws -> KMERLKBRun {
        let process = Process()
        process.executableURL = try binary()
        process.arguments = arguments
        process.currentDirectoryURL = directory
        var environment = ProcessInfo.processInfo.environment
        environment["KMERL_DB"] = nil
        environment.merge(extra) { $1 }
        process.environment = environment
        let outURL = directory.appendingPathComponent("stdout-\(UUID().uuidString).txt")
        let errURL = directory.appendingPathComponent("stderr-\(UUID().uuidString).txt")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL)
        let err = try FileHandle(forWritingTo: errURL)
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try out.close()
        try err.close()
        defer {
            try? FileManager.default.removeItem(at: outURL)
            try? FileManager.default.removeItem(at: errURL)
        }
        return KMERLKBRun(
            status: process.terminationStatus, stdout: try String(contentsOf: outURL, encoding: .utf8),
            stderr: try String(contentsOf: errURL, encoding: .utf8))
    }

    /// A temporary folder holding `ptbxl-slice.csv`: the header and the first `rows` rows of the real
    /// `ptbxl_database.csv` (none of them has a line break inside a quoted field).
    static func ptbxlSlice(rows: Int = 20) throws -> URL {
        let directory = try SharedData.temporaryDirectory()
        let source = try String(contentsOf: try SharedData.url("ptbxl/ptbxl_database.csv"), encoding: .utf8)
        var lines: [Substring] = []
        for line in source.split(separator: "\n", omittingEmptySubsequences: false) {
            lines.append(line)
            if lines.count == rows + 1 { break }
        }
        try (lines.joined(separator: "\n") + "\n").write(
            to: directory.appendingPathComponent("ptbxl-slice.csv"), atomically: true, encoding: .utf8)
        return directory
    }

    /// The `ecg_id`s of the slice in `directory`, in file order.
    static func sliceIDs(in directory: URL) throws -> [String] {
        let text = try String(contentsOf: directory.appendingPathComponent("ptbxl-slice.csv"), encoding: .utf8)
        return text.split(separator: "\n").dropFirst().compactMap { $0.split(separator: ",").first.map(String.init) }
    }
}
