import ECGCore
import ECGFormats
import Foundation
import Knowledge

/// Reads batch inputs with `ECGReader` (WFDB incl. `.mat`, HL7 aECG, CSV).
public struct FileRecordReader: BatchRecordReader {
    /// Options passed to `ECGReader.read`.
    public var options: ReadOptions

    public init(options: ReadOptions = ReadOptions()) {
        self.options = options
    }

    public func read(_ input: BatchInput) throws -> ECGRecord {
        try ECGReader.read(input.primary, options: options)
    }
}

extension KnowledgeStore: BatchResultStore {}
