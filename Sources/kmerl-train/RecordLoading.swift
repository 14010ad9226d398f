import Foundation

/// Finding the WFDB records of a corpus folder.
enum RecordFiles {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// All `*.hea` files below `directory`, sorted by path.
    static func headers(in directory: URL) -> [URL] {
        guard let e = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil) else { return [] }
        var out: [URL] = []
        for case let u as URL in e where u.pathExtension == "hea" { out.append(u) }
        return out.sorted { $0.path < $1.path }
    }
}
