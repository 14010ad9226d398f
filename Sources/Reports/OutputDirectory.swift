import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Builds a set of report files in a staging directory beside the destination and then replaces
/// the destination with it, so that readers see either the previous complete set or the new one.
///
/// The staging directory is `.NAME.partial-UUID` in the destination's parent. `commit()` renames
/// an existing destination to `.NAME.old-UUID`, renames the staging directory into place and
/// removes the old set. A destination that exists, is not empty and holds no `run.json` is not a
/// kmerl report folder and is refused, so that `--out .` cannot wipe a user's files.
public final class OutputDirectory {
    /// The final location.
    public let destination: URL
    /// Where the files are written until `commit()`.
    public let staging: URL
    private var committed = false

    /// Creates the staging directory (and the destination's parent).
    public init(destination: URL) throws {
        let fm = FileManager.default
        self.destination = destination.standardizedFileURL
        let parent = self.destination.deletingLastPathComponent()
        let name = self.destination.lastPathComponent
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: self.destination.path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw ReportWriteError(file: self.destination.path, problem: "exists and is not a directory")
            }
            let contents = (try? fm.contentsOfDirectory(atPath: self.destination.path)) ?? []
            if !contents.isEmpty && !contents.contains("run.json") {
                throw ReportWriteError(
                    file: self.destination.path,
                    problem: "is not empty and holds no run.json, so it is not a kmerl report folder; choose another --out")
            }
        }
        do {
            try fm.createDirectory(at: parent, withIntermediateDirectories: true)
        } catch {
            throw ReportWriteError(file: parent.path, problem: "cannot create the directory (\(error.localizedDescription))")
        }
        staging = parent.appendingPathComponent(".\(name).partial-\(UUID().uuidString)")
        do {
            try fm.createDirectory(at: staging, withIntermediateDirectories: false)
        } catch {
            throw ReportWriteError(file: staging.path, problem: "cannot create the staging directory (\(error.localizedDescription))")
        }
    }

    /// The staging URL of `relative` (e.g. `records/1.html`).
    public func url(_ relative: String) -> URL { staging.appendingPathComponent(relative) }

    /// Writes `text` to `relative` in the staging directory (temporary file + rename).
    public func write(_ text: String, to relative: String) throws {
        try Self.writeAtomically(Data(text.utf8), to: url(relative))
    }

    /// Writes `text` (UTF-8) straight to `url`, a file inside a staging directory: no temporary file
    /// and no rename, because the staging directory is itself invisible until `commit()` moves the
    /// whole set into place — a page cut short by a crash is never part of a committed set.
    public static func writeStaged(_ text: String, to url: URL) throws {
        let fd = open(url.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw ReportWriteError(file: url.path, problem: "cannot create (\(String(cString: strerror(errno))))")
        }
        var text = text
        let failure: String? = text.withUTF8 { buffer -> String? in
            guard let base = buffer.baseAddress else { return nil }
            var offset = 0
            while offset < buffer.count {
                let n = Glibc.write(fd, base + offset, buffer.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return String(cString: strerror(errno))
                }
                offset += n
            }
            return nil
        }
        let closed = close(fd) == 0
        if let failure {
            throw ReportWriteError(file: url.path, problem: "cannot write (\(failure))")
        }
        guard closed else {
            throw ReportWriteError(file: url.path, problem: "cannot write (\(String(cString: strerror(errno))))")
        }
    }

    /// Writes `data` to `url` through a temporary file in the same directory and a rename.
    public static func writeAtomically(_ data: Data, to url: URL) throws {
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(UUID().uuidString)")
        do {
            try data.write(to: temporary)
            if rename(temporary.path, url.path) != 0 {
                let reason = String(cString: strerror(errno))
                try? FileManager.default.removeItem(at: temporary)
                throw ReportWriteError(file: url.path, problem: "cannot rename the temporary file into place (\(reason))")
            }
        } catch let error as ReportWriteError {
            throw error
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw ReportWriteError(file: url.path, problem: "cannot write (\(error.localizedDescription))")
        }
    }

    /// Replaces the destination with the staged set.
    public func commit() throws {
        let fm = FileManager.default
        let parent = destination.deletingLastPathComponent()
        var old: URL? = nil
        if fm.fileExists(atPath: destination.path) {
            let moved = parent.appendingPathComponent(".\(destination.lastPathComponent).old-\(UUID().uuidString)")
            guard rename(destination.path, moved.path) == 0 else {
                throw ReportWriteError(file: destination.path, problem: "cannot move the previous report set aside (\(String(cString: strerror(errno))))")
            }
            old = moved
        }
        guard rename(staging.path, destination.path) == 0 else {
            let reason = String(cString: strerror(errno))
            if let old { _ = rename(old.path, destination.path) }
            throw ReportWriteError(file: destination.path, problem: "cannot move the new report set into place (\(reason))")
        }
        committed = true
        if let old { try? fm.removeItem(at: old) }
    }

    /// Removes the staging directory when the set was never committed.
    public func discard() {
        guard !committed else { return }
        try? FileManager.default.removeItem(at: staging)
    }

    deinit { discard() }
}
