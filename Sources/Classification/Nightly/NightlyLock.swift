import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive advisory lock (`flock`) on a file in the reports folder, held for a whole run so
/// that two nightly runs over the same reports never overlap.
///
/// The kernel drops the lock when the process ends, however it ends (also on SIGKILL), so a
/// stale lock file never blocks the next run. The file holds the owner's pid and start time
/// for the message the second run prints.
public final class NightlyLock {
    /// The lock file's name inside the reports folder.
    public static let fileName = ".kmerl-nightly.lock"

    private var descriptor: Int32
    /// The lock file.
    public let url: URL

    /// Raised when another process holds the lock.
    public struct Busy: Error, Sendable, CustomStringConvertible, LocalizedError {
        /// The lock file.
        public let path: String
        /// What the lock file says about its holder (pid and start time), if anything.
        public let holder: String
        /// The message for the user.
        public var description: String {
            "another kmerl-batch nightly run holds the lock \(path)\(holder.isEmpty ? "" : " (\(holder))"); exiting without doing anything"
        }
        /// Same as `description`.
        public var errorDescription: String? { description }
    }

    /// Takes the lock on `REPORTS/.kmerl-nightly.lock` without waiting; throws `Busy` when it is held.
    public init(reports: URL) throws {
        url = reports.appendingPathComponent(NightlyLock.fileName)
        let fd = open(url.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw NightlyError(path: url.path, problem: "cannot open the lock file: \(String(cString: strerror(errno)))")
        }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            let holder = (try? String(contentsOf: url, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            close(fd)
            if code == EWOULDBLOCK || code == EAGAIN { throw Busy(path: url.path, holder: holder) }
            throw NightlyError(path: url.path, problem: "cannot lock: \(String(cString: strerror(code)))")
        }
        descriptor = fd
        let note = "pid \(getpid()) since \(ISO8601DateFormatter().string(from: Date()))\n"
        _ = ftruncate(fd, 0)
        _ = note.withCString { pwrite(fd, $0, strlen($0), 0) }
    }

    /// Releases the lock (also done when the object goes away or the process ends).
    public func release() {
        guard descriptor >= 0 else { return }
        _ = ftruncate(descriptor, 0)
        flock(descriptor, LOCK_UN)
        close(descriptor)
        descriptor = -1
    }

    deinit { release() }
}
