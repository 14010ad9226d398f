import Foundation

/// Locates the real ECG data in `../shared/data` beside the project root.
///
/// Tests that need it call `SharedData.url(...)`, which throws with a clear message (the test
/// fails, it does not pass silently) when the data are missing.
public enum SharedData {
    /// The project root (the folder holding `Package.swift`).
    public static let projectRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }  // Tests/KMERLTestSupport/SharedData.swift
        return url
    }()

    /// `../shared/data`, or `KMERL_SHARED_DATA` when set.
    public static let root: URL = {
        if let custom = ProcessInfo.processInfo.environment["KMERL_SHARED_DATA"], !custom.isEmpty {
            return URL(fileURLWithPath: custom)
        }
        return projectRoot.deletingLastPathComponent().appendingPathComponent("shared/data")
    }()

    /// The missing-data error.
    public struct Missing: Error, CustomStringConvertible {
        public let path: String
        public var description: String {
            "shared test data not found at \(path): the tests need ../shared/data beside the project root (or KMERL_SHARED_DATA)"
        }
    }

    /// The URL of `relative` inside the shared data; throws `Missing` when it does not exist.
    public static func url(_ relative: String) throws -> URL {
        let url = root.appendingPathComponent(relative)
        guard FileManager.default.fileExists(atPath: url.path) else { throw Missing(path: url.path) }
        return url
    }

    /// A fresh temporary directory, removed by the caller (or left in /tmp).
    public static func temporaryDirectory(_ label: String = "kmerl-test") throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
