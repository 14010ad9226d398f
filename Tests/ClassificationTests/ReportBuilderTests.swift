import ECGCore
import ECGFormats
import Foundation
import KMERLTestSupport
import Reports
import Testing

@testable import Classification

/// The report rows of a real record.
@Suite struct ReportBuilderTests {
    /// findings.csv lines written from the concepts' preformatted cells are byte for byte the
    /// lines of `findingRows` through `CSV.appendLine` (the slow path), on a 2-lead record.
    @Test func preformattedFindingLinesMatchTheCellByCellLines() throws {
        let batch = try BatchClassifier(store: nil, modelData: nil, options: ClassifyOptions(leads: [.i, .ii], jobs: 1))
        var timings = RecordTimings()
        let result = try batch.classifier.classify(BatchInput(id: "24", primary: try SharedData.url("ludb/data/24.hea")), timings: &timings)
        var slow: [UInt8] = []
        for row in ReportBuilder.findingRows(result) { CSV.appendLine(row, to: &slow) }
        var fast: [UInt8] = []
        ReportBuilder.appendFindingLines(result, conceptCells: batch.conceptCells, to: &fast)
        #expect(fast == slow)
        let lines = String(decoding: fast, as: UTF8.self).split(separator: "\n")
        #expect(lines.count == batch.classifier.concepts.count)
        // Two leads present: I and II have a confidence, the other ten columns are empty.
        let cells = CSV.parse(String(lines[0]) + "\n")[0]
        #expect(cells[6] == "I;II")
        #expect(Double(cells[7]) != nil && Double(cells[8]) != nil)
        let others = cells[9...].filter { !$0.isEmpty }
        #expect(others.isEmpty)
    }
}
