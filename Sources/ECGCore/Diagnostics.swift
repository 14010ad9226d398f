import Foundation

/// How serious a diagnostic is.
public enum DiagnosticSeverity: String, Sendable, Codable, Comparable {
    case note, warning, error

    private var rank: Int {
        switch self {
        case .note: 0
        case .warning: 1
        case .error: 2
        }
    }

    public static func < (lhs: DiagnosticSeverity, rhs: DiagnosticSeverity) -> Bool { lhs.rank < rhs.rank }
}

/// A problem found while processing one input, collected and reported rather than thrown,
/// so that one bad file does not end a batch.
public struct Diagnostic: Sendable, Codable, Hashable, CustomStringConvertible {
    public var severity: DiagnosticSeverity
    /// The file concerned (path as given by the user).
    public var file: String
    /// What is wrong, in words a user can act on.
    public var message: String

    public init(severity: DiagnosticSeverity, file: String, message: String) {
        self.severity = severity
        self.file = file
        self.message = message
    }

    public var description: String { "\(severity.rawValue): \(file): \(message)" }
}

/// An error reading or interpreting one ECG file: names the file and the problem.
public struct ECGFileError: Error, Sendable, Hashable, CustomStringConvertible, LocalizedError {
    /// The file concerned.
    public var file: String
    /// What is wrong with it.
    public var problem: String

    public init(file: String, problem: String) {
        self.file = file
        self.problem = problem
    }

    public var description: String { "\(file): \(problem)" }
    public var errorDescription: String? { description }
}
