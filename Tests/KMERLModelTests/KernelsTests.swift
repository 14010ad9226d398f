import KMERLKernels
import KMERLKernelsAVX2
import Testing

@testable import KMERLModel

/// The two compiled copies of the encoder kernels (portable and AVX2, one source) must give the
/// same bits; on a CPU without AVX2 only the portable copy is exercised.
@Suite struct KernelsTests {
    static let hasAVX2 = KernelDispatch.avx2 || Matmul.kernels == "avx2"

    static func random(_ count: Int, seed: UInt64) -> [Float] {
        var rng = SeededGenerator(seed: seed)
        return (0..<count).map { _ in rng.nextGaussian() }
    }

    func naive(_ a: [Float], lda: Int, _ b: [Float], m: Int, n: Int, k: Int) -> [Float] {
        var c = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var s: Float = 0
                for p in 0..<k { s += a[i * lda + p] * b[p * n + j] }
                c[i * n + j] = s
            }
        }
        return c
    }

    /// Shapes of the encoder (stem convolutions read overlapping rows: lda = stride·cin < k) and
    /// edges (rows not a multiple of 6, columns not a multiple of 8 or 16), overwrite and accumulate.
    @Test(arguments: [
        (200, 16, 10, 5), (100, 32, 80, 32), (25, 64, 192, 128), (325, 192, 64, 64), (7, 13, 5, 5), (13, 24, 9, 9), (1, 40, 3, 3), (6, 16, 1, 1),
    ])
    func copiesAgreeBitForBitAndMatchNaive(_ dims: (Int, Int, Int, Int)) {
        let (m, n, k, lda) = dims
        let a = Self.random((m - 1) * lda + k, seed: 1)
        let b = Self.random(k * n, seed: 2)
        let c0 = Self.random(m * n, seed: 3)
        let expected = naive(a, lda: lda, b, m: m, n: n, k: k)
        for accumulate in [false, true] {
            var portable = c0
            var avx2 = c0
            a.withUnsafeBufferPointer { ap in
                b.withUnsafeBufferPointer { bp in
                    portable.withUnsafeMutableBufferPointer { cp in
                        KMERLKernels.Kernels.gemm(
                            m: m, n: n, k: k, a: ap.baseAddress!, lda: lda, b: bp.baseAddress!, ldb: n, c: cp.baseAddress!, ldc: n, accumulate: accumulate)
                    }
                    avx2.withUnsafeMutableBufferPointer { cp in
                        if Self.hasAVX2 {
                            KMERLKernelsAVX2.Kernels.gemm(
                                m: m, n: n, k: k, a: ap.baseAddress!, lda: lda, b: bp.baseAddress!, ldb: n, c: cp.baseAddress!, ldc: n, accumulate: accumulate)
                        } else {
                            Matmul.gemm(m: m, n: n, k: k, a: ap.baseAddress!, lda: lda, b: bp.baseAddress!, ldb: n, c: cp.baseAddress!, ldc: n, accumulate: accumulate)
                        }
                    }
                }
            }
            #expect(portable.map(\.bitPattern) == avx2.map(\.bitPattern))
            // Each element is the k-ordered sum from zero, then added to C: exactly the naive loop
            // (and the session-2 kernel), so results are the same bits as before, not just close.
            let want = (0..<(m * n)).map { accumulate ? c0[$0] + expected[$0] : expected[$0] }
            #expect(portable.map(\.bitPattern) == want.map(\.bitPattern), "\(m)×\(n)×\(k) lda \(lda)")
        }
    }

    @Test func attentionGeluAndLayerNormAgreeBitForBit() {
        guard Self.hasAVX2 else { return }
        let (n, dim, heads) = (25, 64, 4)
        let qkv = Self.random(n * 3 * dim, seed: 4)
        var o1 = [Float](repeating: 0, count: n * dim), o2 = o1
        var p1 = [Float](repeating: 0, count: heads * n * n), p2 = p1
        qkv.withUnsafeBufferPointer { q in
            KMERLKernels.Kernels.attention(q.baseAddress!, n: n, dim: dim, heads: heads, out: &o1, probs: &p1)
            KMERLKernelsAVX2.Kernels.attention(q.baseAddress!, n: n, dim: dim, heads: heads, out: &o2, probs: &p2)
        }
        #expect(o1.map(\.bitPattern) == o2.map(\.bitPattern))
        #expect(p1.map(\.bitPattern) == p2.map(\.bitPattern))
        // Rows of probabilities sum to one.
        for r in 0..<(heads * n) { #expect(abs(p1[(r * n)..<((r + 1) * n)].reduce(0, +) - 1) < 1e-5) }

        let x = Self.random(1003, seed: 5).map { $0 * 4 }
        var g1 = [Float](repeating: 0, count: x.count), g2 = g1
        KMERLKernels.Kernels.gelu(x, &g1, count: x.count)
        KMERLKernelsAVX2.Kernels.gelu(x, &g2, count: x.count)
        #expect(g1.map(\.bitPattern) == g2.map(\.bitPattern))
        for i in 0..<x.count { #expect(g1[i].bitPattern == Ops.gelu(x[i]).bitPattern) }

        let rows = 17, d = 36
        let gamma = Self.random(d, seed: 6), beta = Self.random(d, seed: 7)
        var y1 = [Float](repeating: 0, count: rows * d), y2 = y1
        var m1 = [Float](repeating: 0, count: rows), m2 = m1, r1 = m1, r2 = m1
        KMERLKernels.Kernels.layerNorm(x, rows: rows, dim: d, gamma: gamma, beta: beta, y: &y1, mean: &m1, rstd: &r1)
        KMERLKernelsAVX2.Kernels.layerNorm(x, rows: rows, dim: d, gamma: gamma, beta: beta, y: &y2, mean: &m2, rstd: &r2)
        #expect(y1.map(\.bitPattern) == y2.map(\.bitPattern))
        #expect(m1 == m2 && r1 == r2)
    }

    /// The attention of session 2 (one dot product per score, as `Kernels.dot` computes it): the
    /// key-block version must reproduce it bit for bit, so that training results do not change.
    static func referenceAttention(_ qkv: [Float], n: Int, dim: Int, heads: Int) -> ([Float], [Float]) {
        let dh = dim / heads
        let scale = 1 / Float(dh).squareRoot()
        let stride = 3 * dim
        var out = [Float](repeating: 0, count: n * dim)
        var probs = [Float](repeating: 0, count: heads * n * n)
        qkv.withUnsafeBufferPointer { qp in
            let qkv = qp.baseAddress!
            for h in 0..<heads {
                for i in 0..<n {
                    var row = [Float](repeating: 0, count: n)
                    var mx = -Float.greatestFiniteMagnitude
                    for j in 0..<n {
                        row[j] = KMERLKernels.Kernels.dot(qkv + i * stride + h * dh, qkv + j * stride + dim + h * dh, dh) * scale
                        mx = max(mx, row[j])
                    }
                    for j in 0..<n { row[j] = Ops.fastExp(row[j] - mx) }
                    var sum: Float = 0
                    for j in 0..<n { sum += row[j] }
                    let inv = 1 / sum
                    for j in 0..<n {
                        let a = row[j] * inv
                        probs[h * n * n + i * n + j] = a
                        for c in 0..<dh { out[i * dim + h * dh + c] += a * qkv[j * stride + 2 * dim + h * dh + c] }
                    }
                }
            }
        }
        return (out, probs)
    }

    @Test(arguments: [(25, 64, 4), (7, 8, 2), (33, 36, 3), (9, 48, 2)])
    func attentionReproducesOneDotPerScore(_ shape: (Int, Int, Int)) {
        let (n, dim, heads) = shape
        let qkv = Self.random(n * 3 * dim, seed: 8)
        let (refOut, refProbs) = Self.referenceAttention(qkv, n: n, dim: dim, heads: heads)
        var out = [Float](repeating: 0, count: n * dim)
        var probs = [Float](repeating: 0, count: heads * n * n)
        KMERLKernels.Kernels.attention(qkv, n: n, dim: dim, heads: heads, out: &out, probs: &probs)
        #expect(out.map(\.bitPattern) == refOut.map(\.bitPattern))
        #expect(probs.map(\.bitPattern) == refProbs.map(\.bitPattern))
        if Self.hasAVX2 {
            KMERLKernelsAVX2.Kernels.attention(qkv, n: n, dim: dim, heads: heads, out: &out, probs: &probs)
            #expect(out.map(\.bitPattern) == refOut.map(\.bitPattern))
            #expect(probs.map(\.bitPattern) == refProbs.map(\.bitPattern))
        }
    }

    /// `gemmTN` (Aᵀ·B read in place, the weight gradients) gives the bits of transposing A and
    /// calling `gemm`, in both copies.
    @Test(arguments: [(80, 32, 5000), (10, 16, 777), (13, 24, 9), (192, 64, 31)])
    func gemmTNEqualsTransposeThenGemm(_ dims: (Int, Int, Int)) {
        let (m, n, k) = dims
        let a = Self.random(k * m, seed: 11)  // k × m
        let b = Self.random(k * n, seed: 12)
        let c0 = Self.random(m * n, seed: 13)
        var at = [Float](repeating: 0, count: m * k)
        for p in 0..<k { for i in 0..<m { at[i * k + p] = a[p * m + i] } }
        for accumulate in [false, true] {
            var want = c0, tn = c0, tnAVX2 = c0
            KMERLKernels.Kernels.gemm(m: m, n: n, k: k, a: at, lda: k, b: b, ldb: n, c: &want, ldc: n, accumulate: accumulate)
            KMERLKernels.Kernels.gemmTN(m: m, n: n, k: k, a: a, lda: m, b: b, ldb: n, c: &tn, ldc: n, accumulate: accumulate)
            #expect(tn.map(\.bitPattern) == want.map(\.bitPattern))
            if Self.hasAVX2 {
                KMERLKernelsAVX2.Kernels.gemmTN(m: m, n: n, k: k, a: a, lda: m, b: b, ldb: n, c: &tnAVX2, ldc: n, accumulate: accumulate)
                #expect(tnAVX2.map(\.bitPattern) == want.map(\.bitPattern))
            }
        }
    }
}
