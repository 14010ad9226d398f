import ECGCore
import ECGFormats
import ECGSignal
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

/// Measures batch records with the signal layer's `MeasurementPipeline`.
public struct SignalMeasurer: BatchRecordMeasurer {
    /// The pipeline used.
    public var pipeline: MeasurementPipeline

    public init(pipeline: MeasurementPipeline = MeasurementPipeline()) {
        self.pipeline = pipeline
    }

    public func measure(_ record: ECGRecord) throws -> RecordMeasurements {
        pipeline.measure(record)
    }
}
