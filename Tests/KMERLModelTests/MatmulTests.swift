import Testing

@testable import KMERLModel

@Suite struct MatmulTests {
    /// The reference product (`KernelsTests.naive` with rows of A not overlapping).
    func naive(_ a: [Float], _ b: [Float], m: Int, n: Int, k: Int) -> [Float] {
        KernelsTests().naive(a, lda: k, b, m: m, n: n, k: k)
    }

    @Test(arguments: [(1, 1, 1), (7, 13, 5), (6, 8, 16), (37, 29, 41), (64, 64, 64)])
    func gemmMatchesNaive(_ dims: (Int, Int, Int)) {
        let (m, n, k) = dims
        var rng = SeededGenerator(seed: 1)
        let a = (0..<(m * k)).map { _ in rng.nextGaussian() }
        let b = (0..<(k * n)).map { _ in rng.nextGaussian() }
        let c = Matmul.multiply(a, b, m: m, n: n, k: k)
        let r = naive(a, b, m: m, n: n, k: k)
        for i in 0..<c.count { #expect(abs(c[i] - r[i]) < 1e-4 * max(1, abs(r[i]))) }
    }

    @Test func transposedVariantsMatch() {
        let (m, n, k) = (11, 9, 14)
        var rng = SeededGenerator(seed: 2)
        let a = (0..<(m * k)).map { _ in rng.nextGaussian() }
        let b = (0..<(k * n)).map { _ in rng.nextGaussian() }
        let expected = naive(a, b, m: m, n: n, k: k)
        // A·B via Bᵀ given as n×k.
        var bt = [Float](repeating: 0, count: k * n)
        for p in 0..<k { for j in 0..<n { bt[j * k + p] = b[p * n + j] } }
        var at = [Float](repeating: 0, count: k * m)
        for i in 0..<m { for p in 0..<k { at[p * m + i] = a[i * k + p] } }
        var c1 = [Float](repeating: 1, count: m * n)
        var c2 = [Float](repeating: 1, count: m * n)
        a.withUnsafeBufferPointer { ap in
            bt.withUnsafeBufferPointer { bp in
                c1.withUnsafeMutableBufferPointer { cp in
                    Matmul.gemmBT(m: m, n: n, k: k, a: ap.baseAddress!, b: bp.baseAddress!, c: cp.baseAddress!, accumulate: true)
                }
            }
        }
        at.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                c2.withUnsafeMutableBufferPointer { cp in
                    Matmul.gemmAT(m: m, n: n, k: k, a: ap.baseAddress!, b: bp.baseAddress!, c: cp.baseAddress!, accumulate: false)
                }
            }
        }
        for i in 0..<expected.count {
            #expect(abs(c1[i] - (expected[i] + 1)) < 1e-4)
            #expect(abs(c2[i] - expected[i]) < 1e-4)
        }
    }
}
