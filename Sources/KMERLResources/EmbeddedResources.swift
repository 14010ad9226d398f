import Foundation

/// The files of `Ontology/`, `Templates/` and `Models/`, embedded in the binary at build time.
///
/// Paths are relative to the package root, e.g. `Ontology/kmerl-ontology.xml`.
public enum EmbeddedResources {
    /// Every embedded path, sorted.
    public static var paths: [String] { EmbeddedFiles.base64.keys.sorted() }

    /// The embedded paths below `folder` (e.g. `"Templates"`), sorted.
    public static func paths(under folder: String) -> [String] {
        let prefix = folder.hasSuffix("/") ? folder : folder + "/"
        return paths.filter { $0.hasPrefix(prefix) }
    }

    /// The bytes of one embedded file, or `nil` when no such file was embedded.
    public static func data(_ path: String) -> Data? {
        guard let encoded = EmbeddedFiles.base64[path] else { return nil }
        return Data(base64Encoded: encoded)
    }

    /// Writes the embedded files below `folder` into `directory` (keeping their relative paths
    /// below `folder`) and returns that directory. Used where a library wants a folder on disk.
    @discardableResult
    public static func materialize(_ folder: String, into directory: URL) throws -> URL {
        let fm = FileManager.default
        for path in paths(under: folder) {
            guard let bytes = data(path) else { continue }
            let relative = String(path.dropFirst(folder.count + 1))
            let target = directory.appendingPathComponent(relative)
            try fm.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            try bytes.write(to: target, options: .atomic)
        }
        return directory
    }
}
