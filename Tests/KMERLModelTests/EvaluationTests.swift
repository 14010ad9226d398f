import Foundation
import Testing

@testable import KMERLModel

@Suite struct EvaluationTests {
    @Test func aurocOfKnownRankings() {
        #expect(Metrics.auroc(scores: [0.1, 0.2, 0.8, 0.9], labels: [false, false, true, true]) == 1)
        #expect(Metrics.auroc(scores: [0.9, 0.8, 0.2, 0.1], labels: [false, false, true, true]) == 0)
        #expect(Metrics.auroc(scores: [0.5, 0.5], labels: [false, true]) == 0.5)
        // 3 of 4 positive-negative pairs ordered.
        #expect(Metrics.auroc(scores: [0.1, 0.6, 0.4, 0.9], labels: [false, false, true, true]) == 0.75)
        #expect(Metrics.auroc(scores: [1, 2], labels: [true, true]) == nil)
    }

    @Test func plattRecoversAKnownSigmoid() {
        var rng = SeededGenerator(seed: 8)
        var x: [Double] = []
        var y: [Bool] = []
        for _ in 0..<4000 {
            let v = Double(rng.nextGaussian()) * 3
            x.append(v)
            y.append(Double(rng.nextUniform()) < 1 / (1 + exp(-(0.5 * v - 1))))
        }
        let c = Metrics.fitPlatt(logits: x, labels: y)
        #expect(abs(c.a - 0.5) < 0.08)
        #expect(abs(c.b + 1) < 0.15)
    }

    @Test func ptbxlCodesAndCSV() {
        #expect(PTBXLLabels.parseCodes("{'NORM': 100.0, 'LVOLT': 0.0, 'SR': 0.0}") == ["NORM": 100, "LVOLT": 0, "SR": 0])
        let rows = CSVText.rows("a,b\n1,\"x, \"\"y\"\"\nz\"\n")
        #expect(rows == [["a", "b"], ["1", "x, \"y\"\nz"]])
    }
}
