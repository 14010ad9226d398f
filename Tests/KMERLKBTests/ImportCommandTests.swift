import Foundation
import KMERLTestSupport
import Testing

/// `kmerl-kb import` run as a process on a slice of the real PTB-XL database.
@Suite struct ImportCommandTests {
    @Test func importsARealPTBXLSliceOnceAndSummarises() throws {
        let directory = try KMERLKBProcess.ptbxlSlice()
        let first = try KMERLKBProcess.run(["import", "ptbxl-slice.csv", "--db", "kb.sqlite"], in: directory)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("imported ptbxl-slice.csv (ptbxl) into kb.sqlite"))
        #expect(first.stdout.contains("rows read:        20"))
        #expect(first.stdout.contains("reports added:    20"))
        #expect(first.stderr.isEmpty)  // no progress bar when standard error is not a terminal

        // The same file again adds nothing.
        let again = try KMERLKBProcess.run(["import", "ptbxl-slice.csv", "--db", "kb.sqlite", "--json"], in: directory)
        #expect(again.status == 0, "\(again.stderr)")
        let summary = try again.json()
        #expect(summary["format"] as? String == "ptbxl")
        #expect(summary["rowsRead"] as? Int == 20)
        #expect(summary["reportsAdded"] as? Int == 0)
        #expect(summary["reportsAlreadyPresent"] as? Int == 20)
        #expect(summary["mentionsAdded"] as? Int == 0)

        let stats = try KMERLKBProcess.run(["stats", "--db", "kb.sqlite", "--json"], in: directory).json()
        #expect(stats["reports"] as? Int == 20)
        #expect(stats["importRuns"] as? Int == 2)
        #expect(stats["concepts"] as? Int == 170)
    }

    /// A row of the wrong width: non-zero exit, the error names the file, line and row, and the base
    /// keeps exactly what it had.
    @Test func badFileFailsNamingFileAndRowAndLeavesTheBaseAlone() throws {
        let directory = try KMERLKBProcess.ptbxlSlice()
        #expect(try KMERLKBProcess.run(["import", "ptbxl-slice.csv", "--db", "kb.sqlite"], in: directory).status == 0)
        let bad = directory.appendingPathComponent("bad.csv")
        try "ecg_id,report\n900001,sinusrhythmus normales ekg\n900002,sinusrhythmus,extra,field\n".write(
            to: bad, atomically: true, encoding: .utf8)

        let run = try KMERLKBProcess.run(["import", "bad.csv", "--db", "kb.sqlite"], in: directory)
        #expect(run.status != 0)
        #expect(run.stderr.contains(bad.path + ":3 (row 2)"), "\(run.stderr)")
        #expect(run.stderr.contains("4 fields, but the header has 2"), "\(run.stderr)")

        let stats = try KMERLKBProcess.run(["stats", "--db", "kb.sqlite", "--json"], in: directory).json()
        #expect(stats["reports"] as? Int == 20)  // the valid first row of bad.csv was not kept either
        // Invalid UTF-8 and a file ending inside a quoted field, each in its second data row.
        let cases: [(String, Data, String)] = [
            ("utf8.csv", Data("ecg_id,report\n900001,sinusrhythmus\n900002,sinus".utf8) + Data([0xFF, 0xFE]) + Data("rhythmus\n".utf8),
             ":3 (row 2): column 'report' is not valid UTF-8"),
            ("quote.csv", Data("ecg_id,report\n900001,sinusrhythmus\n900002,\"unterminated\n".utf8),
             ":3 (row 2): the file ends inside a quoted field"),
        ]
        for (name, bytes, message) in cases {
            let file = directory.appendingPathComponent(name)
            try bytes.write(to: file)
            let failed = try KMERLKBProcess.run(["import", name, "--db", "kb.sqlite"], in: directory)
            #expect(failed.status != 0, "\(name)")
            #expect(failed.stderr.contains(file.path + message), "\(failed.stderr)")
        }
        let unchanged = try KMERLKBProcess.run(["stats", "--db", "kb.sqlite", "--json"], in: directory).json()
        #expect(unchanged["reports"] as? Int == 20)
        #expect(unchanged["importRuns"] as? Int == 1)

        let missing = try KMERLKBProcess.run(["import", "no-such.csv", "--db", "kb.sqlite"], in: directory)
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("no-such.csv: no such file"))
    }

    /// `KMERL_DB` chooses the base when `--db` is not given; `--db` wins over it.
    @Test func kmerlDBEnvironmentVariableIsHonoured() throws {
        let directory = try KMERLKBProcess.ptbxlSlice()
        let chosen = directory.appendingPathComponent("from-env.sqlite")
        let environment = ["KMERL_DB": chosen.path]
        let imported = try KMERLKBProcess.run(["import", "ptbxl-slice.csv"], in: directory, environment: environment)
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(imported.stdout.contains("into \(chosen.path)"))
        #expect(FileManager.default.fileExists(atPath: chosen.path))
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("kmerl.sqlite").path))

        let stats = try KMERLKBProcess.run(["stats", "--json"], in: directory, environment: environment).json()
        #expect(stats["reports"] as? Int == 20)
        #expect(stats["path"] as? String == chosen.path)

        let overridden = try KMERLKBProcess.run(["stats", "--json", "--db", "other.sqlite"], in: directory, environment: environment).json()
        #expect(overridden["path"] as? String == "other.sqlite")
        #expect(overridden["reports"] as? Int == 0)

        // Neither given: kmerl.sqlite in the working directory.
        let plain = try KMERLKBProcess.run(["stats", "--json"], in: directory).json()
        #expect(plain["path"] as? String == "kmerl.sqlite")
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("kmerl.sqlite").path))
    }
}
