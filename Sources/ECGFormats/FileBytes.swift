import ECGCore
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Whole-file reading with one `read` call per file and an allocation bounded by the file's size.
enum FileBytes {
    /// Files larger than this are refused (an ECG file of 2 GiB is not an ECG file).
    static let maximumSize = 2 << 30

    /// The bytes of the regular file at `url`; throws `ECGFileError` naming the file when it
    /// cannot be opened, is not a regular file, or is too large.
    static func read(_ url: URL) throws -> [UInt8] {
        try read(path: url.path)
    }

    /// The bytes of the regular file at `path` (see `read(_:)`).
    static func read(path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw ECGFileError(file: path, problem: "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw ECGFileError(file: path, problem: "cannot stat: \(String(cString: strerror(errno)))")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw ECGFileError(file: path, problem: "not a regular file")
        }
        let size = Int(info.st_size)
        guard size <= maximumSize else {
            throw ECGFileError(file: path, problem: "file of \(size) bytes is too large (limit \(maximumSize))")
        }
        if size == 0 { return [] }
        var failure: Int32 = 0
        var got = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            guard let base = buffer.baseAddress else { count = 0; return }
            while got < size {
                let n = Glibc_read(fd, base + got, size - got)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    break
                }
                if n == 0 { break }
                got += n
            }
            count = got
        }
        if failure != 0 {
            throw ECGFileError(file: path, problem: "read failed: \(String(cString: strerror(failure)))")
        }
        return bytes
    }
}

/// `read(2)`, named so that it does not clash with `FileBytes.read`.
@inline(__always)
private func Glibc_read(_ fd: Int32, _ buffer: UnsafeMutablePointer<UInt8>, _ count: Int) -> Int {
    #if canImport(Darwin)
        return Darwin.read(fd, buffer, count)
    #elseif canImport(Musl)
        return Musl.read(fd, buffer, count)
    #else
        return Glibc.read(fd, buffer, count)
    #endif
}
