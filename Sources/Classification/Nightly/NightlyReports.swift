import Foundation
import Knowledge
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The reports folder of the nightly runs: `YYYY-MM-DD[-N]/` night folders, the hidden staging
/// folders they are built in, `index.html` and `history.csv`.
///
/// Every visible file or folder appears by one `rename`, so a reader never sees a partial
/// night; hidden names (`.staging-*`, `.tmp-*`, `.trash-*`) are cleaned up on the next start.
public struct NightlyReports: Sendable {
    /// The reports folder.
    public let url: URL

    /// The reports folder at `url` (created when missing).
    public init(url: URL) throws {
        self.url = url.standardizedFileURL
        do {
            try FileManager.default.createDirectory(at: self.url, withIntermediateDirectories: true)
        } catch {
            throw NightlyError(path: url.path, problem: "cannot create the reports folder: \(error.localizedDescription)")
        }
    }

    /// The hidden folder a run builds its night in.
    public func stagingURL(_ name: String) -> URL { url.appendingPathComponent(name, isDirectory: true) }

    /// A night folder.
    public func nightURL(_ name: String) -> URL { url.appendingPathComponent(name, isDirectory: true) }

    /// `YYYY-MM-DD` of `date` in the local time zone (the night's name).
    public static func nightName(_ date: Date, timeZone: TimeZone = .current) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
    }

    /// The first of `night`, `night-2`, `night-3`, … that is neither on disk nor used by a run.
    public func freeDirectoryName(night: String, used: Set<String>) -> String {
        var candidate = night
        var suffix = 1
        while used.contains(candidate) || FileManager.default.fileExists(atPath: nightURL(candidate).path) {
            suffix += 1
            candidate = "\(night)-\(suffix)"
        }
        return candidate
    }

    /// Removes leftovers of killed processes (called after recovery, under the lock):
    /// temporary files, folders being deleted, staging folders and the report writer's own
    /// partial folders (`..staging-N.partial-…`, `..staging-N.old-…`).
    public func removeLeftovers() throws {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
        for name in names {
            if name.hasPrefix(".tmp-") || name.hasPrefix(".trash-") || name.hasPrefix(".staging-") || name.hasPrefix("..staging-")
                || (name.hasPrefix(".") && name.contains(".tmp-")) {
                try removeTree(url.appendingPathComponent(name))
            }
        }
    }

    /// Removes a file or folder; a visible folder is first renamed to a hidden name so that a
    /// half-deleted folder is never visible under its real name.
    public func removeTree(_ target: URL) throws {
        guard FileManager.default.fileExists(atPath: target.path) else { return }
        var doomed = target
        if !target.lastPathComponent.hasPrefix(".") {
            doomed = url.appendingPathComponent(".trash-\(UUID().uuidString)")
            try NightlyReports.rename(target, to: doomed)
        }
        do { try FileManager.default.removeItem(at: doomed) } catch {
            throw NightlyError(path: doomed.path, problem: "cannot remove: \(error.localizedDescription)")
        }
    }

    /// Publishes a staging folder under its night name (one `rename`), then syncs the reports
    /// folder so the new name is on disk.
    public func publish(staging: URL, as name: String) throws {
        let target = nightURL(name)
        guard !FileManager.default.fileExists(atPath: target.path) else {
            throw NightlyError(path: target.path, problem: "night folder exists already; refusing to overwrite it")
        }
        try NightlyReports.rename(staging, to: target)
        NightlyReports.syncDirectory(url)
    }

    /// Writes `data` to `target` atomically: a hidden temporary file in the same folder,
    /// flushed to disk when `synchronize` is set, then renamed over the target.
    public static func writeAtomically(_ data: Data, to target: URL, synchronize: Bool = true) throws {
        let folder = target.deletingLastPathComponent()
        let temporary = folder.appendingPathComponent(".tmp-\(UUID().uuidString)-\(target.lastPathComponent)")
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil) else {
            throw NightlyError(path: temporary.path, problem: "cannot create a temporary file")
        }
        do {
            let handle = try FileHandle(forWritingTo: temporary)
            try handle.write(contentsOf: data)
            if synchronize { try handle.synchronize() }
            try handle.close()
            try rename(temporary, to: target)
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw NightlyError(path: target.path, problem: "cannot write: \(error.localizedDescription)")
        }
    }

    /// `rename(2)`: atomic within one file system; replaces a file target.
    static func rename(_ source: URL, to target: URL) throws {
        if Glibc.rename(source.path, target.path) != 0 {
            throw NightlyError(path: source.path, problem: "cannot rename to \(target.path): \(String(cString: strerror(errno)))")
        }
    }

    /// Flushes a folder's entries (new names) to disk.
    static func syncDirectory(_ folder: URL) {
        let fd = open(folder.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }

    // MARK: History

    /// Writes `index.html` and `history.csv` from the committed runs (newest first), atomically.
    public func writeHistory(_ runs: [NightlyRunRow]) throws {
        try NightlyReports.writeAtomically(Data(NightlyHistory.csv(runs).utf8), to: url.appendingPathComponent("history.csv"))
        try NightlyReports.writeAtomically(Data(NightlyHistory.html(runs).utf8), to: url.appendingPathComponent("index.html"))
    }
}

/// Renders the history of nightly runs.
public enum NightlyHistory {
    /// The `history.csv` header.
    public static let csvHeader = "night,directory,started_at,finished_at,processed,failed,carried_failures,abnormal,waiting,pruned"

    /// `history.csv`: one row per committed run, newest first.
    public static func csv(_ runs: [NightlyRunRow]) -> String {
        var text = csvHeader + "\n"
        for run in runs {
            let fields = [
                run.night, run.directory ?? "", iso(run.startedAt), run.finishedAt.map(iso) ?? "",
                String(run.processed), String(run.failed), String(run.carried), String(run.abnormal), String(run.waiting),
                run.pruned ? "yes" : "no",
            ]
            text += fields.joined(separator: ",") + "\n"
        }
        return text
    }

    /// `index.html`: a table of the nights with links to each night's report.
    public static func html(_ runs: [NightlyRunRow]) -> String {
        let totalProcessed = runs.reduce(0) { $0 + $1.processed }
        var rows = ""
        for run in runs {
            let night: String
            if let directory = run.directory, !run.pruned {
                night = "<a href=\"\(escape(directory))/index.html\">\(escape(directory))</a>"
            } else if let directory = run.directory {
                night = "\(escape(directory)) <span class=\"muted\">(pruned)</span>"
            } else {
                night = "\(escape(run.night)) <span class=\"muted\">(nothing new)</span>"
            }
            let duration = run.finishedAt.map { String(format: "%.1f s", $0.timeIntervalSince(run.startedAt)) } ?? ""
            let failedClass = run.failed + run.carried > 0 ? " class=\"bad\"" : ""
            rows += """
                <tr><td>\(night)</td><td>\(escape(iso(run.startedAt)))</td><td>\(duration)</td>\
                <td class="n">\(run.processed)</td><td class="n"\(failedClass)>\(run.failed)</td>\
                <td class="n"\(failedClass)>\(run.carried)</td><td class="n">\(run.abnormal)</td><td class="n">\(run.waiting)</td></tr>

                """
        }
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>kmerl nightly reports</title>
            <style>
            body{font-family:system-ui,sans-serif;margin:2em;color:#222}
            table{border-collapse:collapse}th,td{padding:.3em .8em;border-bottom:1px solid #ddd;text-align:left}
            td.n{text-align:right}.bad{color:#b00;font-weight:bold}.muted{color:#888}
            </style></head><body>
            <h1>kmerl nightly reports</h1>
            <p>\(runs.count) run(s), \(totalProcessed) record(s) processed in total. Newest first.
            <a href="history.csv">history.csv</a></p>
            <table><thead><tr><th>night</th><th>started</th><th>duration</th><th>processed</th><th>failed</th>
            <th>earlier failures (not retried)</th><th>abnormal</th><th>waiting</th></tr></thead>
            <tbody>
            \(rows)</tbody></table>
            </body></html>

            """
    }

    /// HTML-escapes text.
    public static func escape(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            default: result.append(character)
            }
        }
        return result
    }

    static func iso(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = .current
        return formatter.string(from: date)
    }
}
