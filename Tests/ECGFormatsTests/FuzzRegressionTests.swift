import ECGCore
import Foundation
import Testing

@testable import ECGFormats

/// Inputs that crashed (or would have crashed) a reader, kept so that they never do again.
/// Each must end in a typed error or a record, never a trap.
@Suite("Fuzz regressions")
struct FuzzRegressionTests {
    @Test("record line with '(' before the counter-frequency '/' (reversed range)")
    func counterParenBeforeSlash() throws {
        let error = try #require(throws: ECGFileError.self) { try WFDBHeader.parse("r 1 2(5/0\nr.dat 16\n", file: "f.hea") }
        #expect(error.problem.contains("line 1"))
    }
}
