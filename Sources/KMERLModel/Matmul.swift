/// Dense matrix kernels for the encoder: cache-friendly, SIMD, portable (no FMA target CPU needed).
///
/// All matrices are row-major `Float` buffers. The core kernel packs 8-column panels of B and
/// accumulates 6×8 register tiles with `a + b * c` (two SSE registers per `SIMD8`), which reaches
/// about 27 GFLOP/s on one core at 256³ on the development machine (see `Benchmarks/model.sh`).
public enum Matmul {
    /// `C[m×n] (+)= A[m×k] · B[k×n]`, row-major with leading dimensions; `accumulate == false`
    /// overwrites C.
    public static func gemm(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        accumulate: Bool
    ) {
        if !accumulate {
            for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) }
        }
        guard m > 0, n > 0, k > 0 else { return }
        let nPanels = (n + 7) / 8
        let packed = UnsafeMutablePointer<SIMD8<Float>>.allocate(capacity: nPanels * k)
        defer { packed.deallocate() }
        for p in 0..<nPanels {
            let j0 = p * 8
            let w = min(8, n - j0)
            for kk in 0..<k {
                let row = b + kk * ldb + j0
                var v = SIMD8<Float>(repeating: 0)
                if w == 8 {
                    v = UnsafeRawPointer(row).loadUnaligned(as: SIMD8<Float>.self)
                } else {
                    for j in 0..<w { v[j] = row[j] }
                }
                packed[p * k + kk] = v
            }
        }
        let tile = 6
        var i = 0
        while i < m {
            let rows = min(tile, m - i)
            let a0 = a + i * lda
            for p in 0..<nPanels {
                let bp = packed + p * k
                var c0 = SIMD8<Float>(repeating: 0)
                var c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0
                if rows == tile {
                    let a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda, a4 = a3 + lda, a5 = a4 + lda
                    for kk in 0..<k {
                        let bv = bp[kk]
                        c0 = c0 + bv * a0[kk]
                        c1 = c1 + bv * a1[kk]
                        c2 = c2 + bv * a2[kk]
                        c3 = c3 + bv * a3[kk]
                        c4 = c4 + bv * a4[kk]
                        c5 = c5 + bv * a5[kk]
                    }
                } else {
                    for kk in 0..<k {
                        let bv = bp[kk]
                        c0 = c0 + bv * a0[kk]
                        if rows > 1 { c1 = c1 + bv * a0[lda + kk] }
                        if rows > 2 { c2 = c2 + bv * a0[2 * lda + kk] }
                        if rows > 3 { c3 = c3 + bv * a0[3 * lda + kk] }
                        if rows > 4 { c4 = c4 + bv * a0[4 * lda + kk] }
                    }
                }
                let j0 = p * 8
                let w = min(8, n - j0)
                for r in 0..<rows {
                    let acc: SIMD8<Float>
                    switch r {
                    case 0: acc = c0
                    case 1: acc = c1
                    case 2: acc = c2
                    case 3: acc = c3
                    case 4: acc = c4
                    default: acc = c5
                    }
                    let crow = c + (i + r) * ldc + j0
                    if w == 8 {
                        let old = UnsafeRawPointer(crow).loadUnaligned(as: SIMD8<Float>.self)
                        UnsafeMutableRawPointer(crow).storeBytes(of: old + acc, as: SIMD8<Float>.self)
                    } else {
                        for j in 0..<w { crow[j] += acc[j] }
                    }
                }
            }
            i += tile
        }
    }

    /// Writes the transpose of `a[rows×cols]` into `out[cols×rows]`, in cache blocks.
    public static func transpose(_ a: UnsafePointer<Float>, rows: Int, cols: Int, into out: UnsafeMutablePointer<Float>) {
        let block = 32
        var i0 = 0
        while i0 < rows {
            let i1 = min(i0 + block, rows)
            var j0 = 0
            while j0 < cols {
                let j1 = min(j0 + block, cols)
                for i in i0..<i1 {
                    for j in j0..<j1 { out[j * rows + i] = a[i * cols + j] }
                }
                j0 = j1
            }
            i0 = i1
        }
    }

    /// `C[m×n] (+)= A[m×k] · B[n×k]ᵀ` (B given row-major as n×k).
    public static func gemmBT(
        m: Int, n: Int, k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, accumulate: Bool
    ) {
        let bt = UnsafeMutablePointer<Float>.allocate(capacity: max(1, k * n))
        defer { bt.deallocate() }
        transpose(b, rows: n, cols: k, into: bt)
        gemm(m: m, n: n, k: k, a: a, lda: k, b: bt, ldb: n, c: c, ldc: n, accumulate: accumulate)
    }

    /// `C[m×n] (+)= A[k×m]ᵀ · B[k×n]` (A given row-major as k×m).
    public static func gemmAT(
        m: Int, n: Int, k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, accumulate: Bool
    ) {
        let at = UnsafeMutablePointer<Float>.allocate(capacity: max(1, k * m))
        defer { at.deallocate() }
        transpose(a, rows: k, cols: m, into: at)
        gemm(m: m, n: n, k: k, a: at, lda: k, b: b, ldb: n, c: c, ldc: n, accumulate: accumulate)
    }
}

extension Matmul {
    /// Array convenience: `A[m×k] · B[k×n]`.
    public static func multiply(_ a: [Float], _ b: [Float], m: Int, n: Int, k: Int) -> [Float] {
        var c = [Float](repeating: 0, count: m * n)
        guard m > 0, n > 0, k > 0, a.count >= m * k, b.count >= k * n else { return c }
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                c.withUnsafeMutableBufferPointer { cp in
                    guard let pa = ap.baseAddress, let pb = bp.baseAddress, let pc = cp.baseAddress else { return }
                    gemm(m: m, n: n, k: k, a: pa, lda: k, b: pb, ldb: n, c: pc, ldc: n, accumulate: false)
                }
            }
        }
        return c
    }
}
