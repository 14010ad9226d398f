/// The encoder's hot loops — matrix product, softmax attention, GELU, layer norm — written once
/// and compiled twice: portably here (module `KMERLKernels`, SSE on x86-64) and with AVX2 code
/// generation in module `KMERLKernelsAVX2` (whose `Kernels.swift` is a symbolic link to this
/// file; Package.swift gives it `-mavx2` and the `KMERL_AVX2` condition). `KMERLModel` picks the
/// AVX2 copy at run time when the CPU has AVX2 (`KernelDispatch`).
///
/// Both copies perform the same floating-point operations in the same order (`a + b * c`, no
/// fused multiply-add, no reassociation; AVX2 only changes the register width and the tile
/// shape, never the order in which one output element is summed), so they give bit-identical
/// results: training stays reproducible across machines, and `KernelTests` checks the equality.
///
/// Keep every helper here a member of `Kernels` (module-specific symbols) and avoid generic
/// standard-library calls that are not inlined (`pointwiseMin`, `SIMD.max()` …): their
/// specializations are shared (linkonce) symbols, and the linker could keep the AVX2 module's copy
/// for portable callers, which would fault on a CPU without AVX2. (Checked: no `%ymm` instruction
/// outside `KMERLKernelsAVX2` in `objdump -d` of the release binaries.)
public enum Kernels {
    #if KMERL_AVX2
        /// The instruction set this copy was compiled for.
        public static let instructionSet = "avx2"
    #else
        /// The instruction set this copy was compiled for.
        public static let instructionSet = "portable"
    #endif

    @inline(__always)
    static func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inline(__always)
    static func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
    }

    /// Writes (or adds) the first `width` lanes of an accumulator into a row of C.
    @inline(__always)
    static func put(_ v: SIMD8<Float>, _ c: UnsafeMutablePointer<Float>, _ accumulate: Bool, _ width: Int) {
        if width == 8 {
            store8(accumulate ? load8(c) + v : v, c)
        } else if accumulate {
            for j in 0..<width { c[j] += v[j] }
        } else {
            for j in 0..<width { c[j] = v[j] }
        }
    }

    // MARK: Matrix product

    /// Rows of A per register tile: 5 rows × 16 columns (AVX2) are ten 8-lane accumulators, which
    /// with the two B vectors, the broadcast and the product fit the sixteen vector registers
    /// without spilling (6 × 16 spilled); 5 × 8 likewise with SSE's 4-lane halves. The encoder's
    /// row counts (multiples of 25) then need no edge tiles.
    static let rowsPerTile = 5

    /// `C[m×n] (+)= A[m×k] · B[k×n]`, row-major with leading dimensions; `accumulate == false`
    /// overwrites C. Every output element is `Σₖ a·b` summed in k order from zero and then added
    /// to C (or stored). B is read in place (no packing) except for a last partial 8-column panel;
    /// rows of A may overlap (`lda` smaller than `k`), which lets a strided convolution read its
    /// padded input directly instead of an im2col copy.
    public static func gemm(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        accumulate: Bool
    ) {
        gemmCore(m: m, n: n, k: k, a: a, rowStride: lda, kStride: 1, b: b, ldb: ldb, c: c, ldc: ldc, accumulate: accumulate)
    }

    /// `C[m×n] (+)= Aᵀ · B` for `A[k×m]` given row-major with leading dimension `lda` (the weight
    /// gradient `xᵀ·dy` of a linear layer): the same operations in the same order as transposing A
    /// and calling `gemm`, without the transposed copy.
    public static func gemmTN(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        accumulate: Bool
    ) {
        gemmCore(m: m, n: n, k: k, a: a, rowStride: 1, kStride: lda, b: b, ldb: ldb, c: c, ldc: ldc, accumulate: accumulate)
    }

    /// The GEMM loops; A's element (i, kk) is `a[i·rowStride + kk·kStride]`. Inlined into both
    /// entry points so that the strides fold into constants where they are 1.
    @inline(__always)
    static func gemmCore(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, rowStride lda: Int, kStride ks: Int,
        b: UnsafePointer<Float>, ldb: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        accumulate: Bool
    ) {
        guard m > 0, n > 0 else { return }
        guard k > 0 else {
            if !accumulate { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) } }
            return
        }
        let full = n / 8 * 8
        var i = 0
        while i < m {
            let rows = min(rowsPerTile, m - i)
            let ai = a + i * lda
            let ci = c + i * ldc
            var j = 0
            #if KMERL_AVX2
                while j + 16 <= full {
                    if rows == 5 {
                        tile5x16(k, ai, lda, ks, b + j, ldb, ci + j, ldc, accumulate)
                    } else {
                        tileRows(rows, k, ai, lda, ks, b + j, ldb, ci + j, ldc, accumulate, 8)
                        tileRows(rows, k, ai, lda, ks, b + j + 8, ldb, ci + j + 8, ldc, accumulate, 8)
                    }
                    j += 16
                }
            #endif
            while j + 8 <= full {
                if rows == 5 {
                    tile5x8(k, ai, lda, ks, b + j, ldb, ci + j, ldc, accumulate, 8)
                } else {
                    tileRows(rows, k, ai, lda, ks, b + j, ldb, ci + j, ldc, accumulate, 8)
                }
                j += 8
            }
            i += rowsPerTile
        }
        guard full < n else { return }
        // The last partial panel: copy its columns into zero-padded 8-wide rows.
        let w = n - full
        let packed = UnsafeMutablePointer<Float>.allocate(capacity: k * 8)
        defer { packed.deallocate() }
        for kk in 0..<k {
            let row = b + kk * ldb + full
            for j in 0..<8 { packed[kk * 8 + j] = j < w ? row[j] : 0 }
        }
        i = 0
        while i < m {
            let rows = min(rowsPerTile, m - i)
            if rows == 5 {
                tile5x8(k, a + i * lda, lda, ks, packed, 8, c + i * ldc + full, ldc, accumulate, w)
            } else {
                tileRows(rows, k, a + i * lda, lda, ks, packed, 8, c + i * ldc + full, ldc, accumulate, w)
            }
            i += rowsPerTile
        }
    }

    /// Five rows × eight columns.
    @inline(__always)
    static func tile5x8(
        _ k: Int, _ a0: UnsafePointer<Float>, _ lda: Int, _ ks: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
        _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulate: Bool, _ width: Int
    ) {
        var c0 = SIMD8<Float>(repeating: 0)
        var c1 = c0, c2 = c0, c3 = c0, c4 = c0
        let a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda, a4 = a3 + lda
        var bp = b
        for kk in 0..<k {
            let bv = load8(bp)
            c0 = c0 + bv * a0[kk * ks]
            c1 = c1 + bv * a1[kk * ks]
            c2 = c2 + bv * a2[kk * ks]
            c3 = c3 + bv * a3[kk * ks]
            c4 = c4 + bv * a4[kk * ks]
            bp += ldb
        }
        put(c0, c, accumulate, width)
        put(c1, c + ldc, accumulate, width)
        put(c2, c + 2 * ldc, accumulate, width)
        put(c3, c + 3 * ldc, accumulate, width)
        put(c4, c + 4 * ldc, accumulate, width)
    }

    #if KMERL_AVX2
        /// Five rows × sixteen columns.
        @inline(__always)
        static func tile5x16(
            _ k: Int, _ a0: UnsafePointer<Float>, _ lda: Int, _ ks: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
            _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulate: Bool
        ) {
            var c0 = SIMD8<Float>(repeating: 0)
            var c1 = c0, c2 = c0, c3 = c0, c4 = c0
            var d0 = c0, d1 = c0, d2 = c0, d3 = c0, d4 = c0
            let a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda, a4 = a3 + lda
            var bp = b
            for kk in 0..<k {
                let bv = load8(bp)
                let bw = load8(bp + 8)
                let x0 = a0[kk * ks]
                c0 = c0 + bv * x0
                d0 = d0 + bw * x0
                let x1 = a1[kk * ks]
                c1 = c1 + bv * x1
                d1 = d1 + bw * x1
                let x2 = a2[kk * ks]
                c2 = c2 + bv * x2
                d2 = d2 + bw * x2
                let x3 = a3[kk * ks]
                c3 = c3 + bv * x3
                d3 = d3 + bw * x3
                let x4 = a4[kk * ks]
                c4 = c4 + bv * x4
                d4 = d4 + bw * x4
                bp += ldb
            }
            put(c0, c, accumulate, 8)
            put(d0, c + 8, accumulate, 8)
            put(c1, c + ldc, accumulate, 8)
            put(d1, c + ldc + 8, accumulate, 8)
            put(c2, c + 2 * ldc, accumulate, 8)
            put(d2, c + 2 * ldc + 8, accumulate, 8)
            put(c3, c + 3 * ldc, accumulate, 8)
            put(d3, c + 3 * ldc + 8, accumulate, 8)
            put(c4, c + 4 * ldc, accumulate, 8)
            put(d4, c + 4 * ldc + 8, accumulate, 8)
        }
    #endif

    /// One to four rows × eight columns (the bottom edge of C).
    @inline(__always)
    static func tileRows(
        _ rows: Int, _ k: Int, _ a0: UnsafePointer<Float>, _ lda: Int, _ ks: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
        _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulate: Bool, _ width: Int
    ) {
        var c0 = SIMD8<Float>(repeating: 0)
        var c1 = c0, c2 = c0, c3 = c0, c4 = c0
        var bp = b
        for kk in 0..<k {
            let bv = load8(bp)
            c0 = c0 + bv * a0[kk * ks]
            if rows > 1 { c1 = c1 + bv * a0[lda + kk * ks] }
            if rows > 2 { c2 = c2 + bv * a0[2 * lda + kk * ks] }
            if rows > 3 { c3 = c3 + bv * a0[3 * lda + kk * ks] }
            if rows > 4 { c4 = c4 + bv * a0[4 * lda + kk * ks] }
            bp += ldb
        }
        put(c0, c, accumulate, width)
        if rows > 1 { put(c1, c + ldc, accumulate, width) }
        if rows > 2 { put(c2, c + 2 * ldc, accumulate, width) }
        if rows > 3 { put(c3, c + 3 * ldc, accumulate, width) }
        if rows > 4 { put(c4, c + 4 * ldc, accumulate, width) }
    }

    // MARK: Elementwise

    /// eˣ without a libm call (Cephes' range reduction and degree-6 polynomial, a few ulp
    /// accurate; inputs clamped to the finite range), eight lanes; bit-identical per lane to the
    /// scalar `Ops.fastExp` in KMERLModel.
    @inline(__always)
    public static func fastExp(_ x: SIMD8<Float>) -> SIMD8<Float> {
        // Clamp without the generic `pointwiseMin/Max` (not inlined); NaN stays NaN as there.
        let hi = SIMD8<Float>(repeating: 88.3), lo = SIMD8<Float>(repeating: -87.3)
        var cx = x
        cx.replace(with: hi, where: cx .> hi)
        cx.replace(with: lo, where: cx .< lo)
        let magic = SIMD8<Float>(repeating: 12_582_912)
        let m = cx * 1.442_695_04 + magic
        let n = m - magic
        let r = cx - n * 0.693_359_375 + n * 2.121_944_4e-4
        var p = SIMD8<Float>(repeating: 1.987_569_15e-4)
        p = p * r + 1.398_199_95e-3
        p = p * r + 8.333_451_9e-3
        p = p * r + 4.166_579_59e-2
        p = p * r + 1.666_666_55e-1
        p = p * r + 5.000_000_12e-1
        p = p * (r * r) + r + 1
        let bits = (unsafeBitCast(m, to: SIMD8<Int32>.self) &- 0x4B40_0000 &+ 127) &<< 23
        return p * unsafeBitCast(bits, to: SIMD8<Float>.self)
    }

    /// GELU (tanh approximation) of `count` values from `x` into `y`; lanes beyond the last
    /// multiple of eight go through a zero-padded vector (same arithmetic per lane).
    public static func gelu(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        @inline(__always) func g(_ v: SIMD8<Float>) -> SIMD8<Float> {
            let u = 0.797_884_56 * (v + 0.044_715 * v * v * v)
            let t = 1 - 2 / (fastExp(2 * u) + 1)
            return 0.5 * v * (1 + t)
        }
        var i = 0
        while i + 8 <= count {
            store8(g(load8(x + i)), y + i)
            i += 8
        }
        if i < count {
            var v = SIMD8<Float>(repeating: 0)
            for j in 0..<(count - i) { v[j] = x[i + j] }
            let r = g(v)
            for j in 0..<(count - i) { y[i + j] = r[j] }
        }
    }

    /// Dot product of `n` floats: eight-lane partial sums, then the lanes in order, then the tail.
    @inline(__always)
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = SIMD8<Float>(repeating: 0)
        var c = 0
        while c + 8 <= n {
            acc = acc + load8(a + c) * load8(b + c)
            c += 8
        }
        var s = acc.sum()
        while c < n {
            s += a[c] * b[c]
            c += 1
        }
        return s
    }

    /// `y += a · x` over `n` floats.
    @inline(__always)
    public static func axpy(_ a: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        var c = 0
        while c + 8 <= n {
            store8(load8(y + c) + a * load8(x + c), y + c)
            c += 8
        }
        while c < n {
            y[c] += a * x[c]
            c += 1
        }
    }

    // MARK: Layer norm

    /// Layer norm over the last dimension (ε = 1e-5); stores per-row mean and 1/σ. `y` may be `x`.
    public static func layerNorm(
        _ x: UnsafePointer<Float>, rows: Int, dim: Int, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
        y: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>?, rstd: UnsafeMutablePointer<Float>?
    ) {
        let eps: Float = 1e-5
        for r in 0..<rows {
            let xr = x + r * dim
            var acc = SIMD8<Float>(repeating: 0)
            var j0 = 0
            while j0 + 8 <= dim {
                acc = acc + load8(xr + j0)
                j0 += 8
            }
            var sum = acc.sum()
            for j in j0..<dim { sum += xr[j] }
            let m = sum / Float(dim)
            var acc2 = SIMD8<Float>(repeating: 0)
            j0 = 0
            while j0 + 8 <= dim {
                let d = load8(xr + j0) - m
                acc2 = acc2 + d * d
                j0 += 8
            }
            var sum2 = acc2.sum()
            for j in j0..<dim {
                let d = xr[j] - m
                sum2 += d * d
            }
            let v = sum2 / Float(dim)
            let rs = 1 / (v + eps).squareRoot()
            mean?[r] = m
            rstd?[r] = rs
            let yr = y + r * dim
            j0 = 0
            while j0 + 8 <= dim {
                store8((load8(xr + j0) - m) * rs * load8(gamma + j0) + load8(beta + j0), yr + j0)
                j0 += 8
            }
            for j in j0..<dim { yr[j] = (xr[j] - m) * rs * gamma[j] + beta[j] }
        }
    }

    // MARK: Attention

    /// Softmax attention for one sequence: `qkv[n × 3d]` (queries, keys, values side by side) →
    /// `out[n × d]`; writes the attention probabilities `probs[heads × n × n]`.
    ///
    /// The score of query i and key j is `dot(q, k) · scale` as `dot` computes it (eight-lane
    /// partial sums, lanes added in order, then the tail), but eight keys at a time from a
    /// transposed copy of the keys: the same operations per score, so the same bits, without a
    /// horizontal sum per score.
    public static func attention(
        _ qkv: UnsafePointer<Float>, n: Int, dim: Int, heads: Int, out: UnsafeMutablePointer<Float>, probs: UnsafeMutablePointer<Float>
    ) {
        let dh = dim / heads
        let scale = 1 / Float(dh).squareRoot()
        let stride = 3 * dim
        let chunks = dh / 8
        let blocks = (n + 7) / 8
        let np = blocks * 8
        let kt = UnsafeMutablePointer<Float>.allocate(capacity: max(1, dh * np))
        defer { kt.deallocate() }
        for h in 0..<heads {
            // Keys of this head transposed: kt[c·np + j], zero beyond the last key.
            for c in 0..<dh {
                let dst = kt + c * np
                var kp = qkv + dim + h * dh + c
                for j in 0..<n {
                    dst[j] = kp.pointee
                    kp += stride
                }
                for j in n..<np { dst[j] = 0 }
            }
            let p = probs + h * n * n
            for i in 0..<n {
                let q = qkv + i * stride + h * dh
                let row = p + i * n
                var mx = -Float.greatestFiniteMagnitude
                var mxv = SIMD8<Float>(repeating: -Float.greatestFiniteMagnitude)
                var first = 0
                if dh == 16 {
                    // Two key blocks at a time: two independent addition chains.
                    while first + 2 <= blocks && (first + 2) * 8 <= n {
                        let kb = kt + first * 8
                        var s = SIMD8<Float>(repeating: -0.0), u = s
                        for l in 0..<8 {
                            let ql = q[l], qh = q[l + 8]
                            s = s + ((SIMD8<Float>(repeating: 0) + ql * load8(kb + l * np)) + qh * load8(kb + (l + 8) * np))
                            u = u + ((SIMD8<Float>(repeating: 0) + ql * load8(kb + 8 + l * np)) + qh * load8(kb + 8 + (l + 8) * np))
                        }
                        s = s * scale
                        u = u * scale
                        store8(s, row + first * 8)
                        store8(u, row + first * 8 + 8)
                        mxv.replace(with: s, where: s .> mxv)
                        mxv.replace(with: u, where: u .> mxv)
                        first += 2
                    }
                }
                for jb in first..<blocks {
                    let j0 = jb * 8
                    var s = SIMD8<Float>(repeating: 0)
                    if dh == 16 {
                        // The encoder's head width, unrolled: lane l is q[l]·k[l] + q[l+8]·k[l+8].
                        s = SIMD8<Float>(repeating: -0.0)
                        let kb = kt + j0
                        for l in 0..<8 {
                            s = s + ((SIMD8<Float>(repeating: 0) + q[l] * load8(kb + l * np)) + q[l + 8] * load8(kb + (l + 8) * np))
                        }
                    } else if chunks > 0 {
                        s = SIMD8<Float>(repeating: -0.0)  // `SIMD.sum()` starts from -0
                        for l in 0..<8 {
                            var lane = SIMD8<Float>(repeating: 0)
                            for ch in 0..<chunks {
                                let c = ch * 8 + l
                                lane = lane + q[c] * load8(kt + c * np + j0)
                            }
                            s = s + lane
                        }
                    }
                    for c in (chunks * 8)..<dh { s = s + q[c] * load8(kt + c * np + j0) }
                    s = s * scale
                    if j0 + 8 <= n {
                        store8(s, row + j0)
                        mxv.replace(with: s, where: s .> mxv)
                    } else {
                        for t in 0..<(n - j0) {
                            row[j0 + t] = s[t]
                            mx = max(mx, s[t])
                        }
                    }
                }
                for t in 0..<8 { mx = max(mx, mxv[t]) }
                // Exponentials eight at a time (bit-identical to the scalar version), summed in order.
                var j = 0
                while j + 8 <= n {
                    store8(fastExp(load8(row + j) - mx), row + j)
                    j += 8
                }
                if j < n {
                    var v = SIMD8<Float>(repeating: 0)
                    for t in 0..<(n - j) { v[t] = row[j + t] - mx }
                    let e = fastExp(v)
                    for t in 0..<(n - j) { row[j + t] = e[t] }
                }
                var sum: Float = 0
                for j in 0..<n { sum += row[j] }
                let inv = 1 / sum
                for j in 0..<n { row[j] = row[j] * inv }
                // out = Σⱼ p·v in j order, eight channels at a time in registers.
                let o = out + i * dim + h * dh
                var c0 = 0
                while c0 + 16 <= dh {
                    // Two channel blocks at a time: two independent addition chains.
                    var acc = SIMD8<Float>(repeating: 0), acc2 = acc
                    var vp = qkv + 2 * dim + h * dh + c0
                    for j in 0..<n {
                        let w = row[j]
                        acc = acc + w * load8(vp)
                        acc2 = acc2 + w * load8(vp + 8)
                        vp += stride
                    }
                    store8(acc, o + c0)
                    store8(acc2, o + c0 + 8)
                    c0 += 16
                }
                while c0 + 8 <= dh {
                    var acc = SIMD8<Float>(repeating: 0)
                    var vp = qkv + 2 * dim + h * dh + c0
                    for j in 0..<n {
                        acc = acc + row[j] * load8(vp)
                        vp += stride
                    }
                    store8(acc, o + c0)
                    c0 += 8
                }
                for c in c0..<dh {
                    var acc: Float = 0
                    for j in 0..<n { acc = acc + row[j] * qkv[j * stride + 2 * dim + h * dh + c] }
                    o[c] = acc
                }
            }
        }
    }
}
