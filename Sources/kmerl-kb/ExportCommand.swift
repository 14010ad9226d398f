import ArgumentParser
import Foundation
import Knowledge

/// `kmerl-kb export mentions --csv`.
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Export from the knowledge base.", subcommands: [Mentions.self])

    struct Mentions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "mentions",
            abstract: "One CSV row per mention: report_id,concept_id,label,codes,assertion,leads,severity,acuity,location."
        )

        @OptionGroup var database: DatabaseOptions

        @Flag(help: "CSV output (the only format).")
        var csv = false

        @Option(help: "Write to this file (atomically) instead of standard output.")
        var out: String?

        func validate() throws {
            if !csv { throw ValidationError("say --csv (the only export format)") }
        }

        func run() async throws {
            let store = try database.open()
            if let out {
                let target = URL(fileURLWithPath: out)
                let temporary = target.deletingLastPathComponent()
                    .appendingPathComponent(".\(target.lastPathComponent).\(UUID().uuidString).tmp")
                guard FileManager.default.createFile(atPath: temporary.path, contents: nil) else {
                    throw ValidationError("\(out): cannot create the file (does the folder exist?)")
                }
                do {
                    let handle = try FileHandle(forWritingTo: temporary)
                    let rows = try store.exportMentionsCSV { try handle.write(contentsOf: $0) }
                    try handle.close()
                    if FileManager.default.fileExists(atPath: target.path) {
                        _ = try FileManager.default.replaceItemAt(target, withItemAt: temporary)
                    } else {
                        try FileManager.default.moveItem(at: temporary, to: target)
                    }
                    printError("wrote \(rows) mentions to \(out)")
                } catch {
                    try? FileManager.default.removeItem(at: temporary)
                    throw error
                }
            } else {
                let stdout = FileHandle.standardOutput
                try store.exportMentionsCSV { try stdout.write(contentsOf: $0) }
            }
        }
    }
}
