import Foundation
import KMERLKernels
import KMERLKernelsAVX2

/// A zero-initialised scratch buffer of `Float`s with reference semantics, used for activations
/// and gradients inside one forward/backward pass (never shared between tasks).
final class Buffer {
    let count: Int
    let p: UnsafeMutablePointer<Float>

    init(_ count: Int) {
        self.count = count
        p = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
        p.initialize(repeating: 0, count: max(count, 1))
    }

    /// A buffer whose contents are left unset, for outputs that the next kernel overwrites
    /// completely (`im2col`, `linear`, `layerNorm`): saves zeroing memory twice.
    init(uninitialized count: Int) {
        self.count = count
        p = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
    }

    convenience init(_ values: [Float]) {
        self.init(values.count)
        for i in 0..<values.count { p[i] = values[i] }
    }

    deinit { p.deallocate() }

    var array: [Float] { Array(UnsafeBufferPointer(start: p, count: count)) }

    func zero() { p.update(repeating: 0, count: count) }
}

/// The layer kernels of the encoder with their backward passes. Shapes are row-major; every
/// backward *accumulates* into parameter gradients and returns or fills the input gradient.
enum Ops {
    // MARK: 1-D convolution (im2col + GEMM)

    /// Output length of a 1-D convolution.
    static func convOutputLength(_ length: Int, kernel: Int, stride: Int, padding: Int) -> Int {
        (length + 2 * padding - kernel) / stride + 1
    }

    /// Unfolds `x[n × length × cin]` into `cols[(n·lout) × (kernel·cin)]`.
    static func im2col(_ x: UnsafePointer<Float>, n: Int, length: Int, cin: Int, kernel: Int, stride: Int, padding: Int, cols: UnsafeMutablePointer<Float>) {
        let lout = convOutputLength(length, kernel: kernel, stride: stride, padding: padding)
        let width = kernel * cin
        for s in 0..<n {
            let xs = x + s * length * cin
            for t in 0..<lout {
                let row = cols + (s * lout + t) * width
                let start = t * stride - padding
                for kk in 0..<kernel {
                    let pos = start + kk
                    let dst = row + kk * cin
                    if pos < 0 || pos >= length {
                        dst.update(repeating: 0, count: cin)
                    } else {
                        dst.update(from: xs + pos * cin, count: cin)
                    }
                }
            }
        }
    }

    /// Folds column gradients back onto the input gradient (adds).
    static func col2im(_ dcols: UnsafePointer<Float>, n: Int, length: Int, cin: Int, kernel: Int, stride: Int, padding: Int, dx: UnsafeMutablePointer<Float>) {
        let lout = convOutputLength(length, kernel: kernel, stride: stride, padding: padding)
        let width = kernel * cin
        for s in 0..<n {
            let dxs = dx + s * length * cin
            for t in 0..<lout {
                let row = dcols + (s * lout + t) * width
                let start = t * stride - padding
                for kk in 0..<kernel {
                    let pos = start + kk
                    if pos < 0 || pos >= length { continue }
                    let src = row + kk * cin
                    let dst = dxs + pos * cin
                    for c in 0..<cin { dst[c] += src[c] }
                }
            }
        }
    }

    // MARK: Linear layers

    /// `y[rows × out] = x[rows × in] · w[in × out] + b`.
    static func linear(_ x: UnsafePointer<Float>, rows: Int, inputs: Int, outputs: Int, w: UnsafePointer<Float>, b: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>) {
        Matmul.gemm(m: rows, n: outputs, k: inputs, a: x, lda: inputs, b: w, ldb: outputs, c: y, ldc: outputs, accumulate: false)
        if let b {
            for r in 0..<rows {
                let yr = y + r * outputs
                for j in 0..<outputs { yr[j] += b[j] }
            }
        }
    }

    /// Backward of `linear`: accumulates `dw += xᵀ·dy`, `db += Σ dy`, and writes (or adds) `dx = dy·wᵀ`.
    static func linearBackward(
        _ x: UnsafePointer<Float>, dy: UnsafePointer<Float>, rows: Int, inputs: Int, outputs: Int,
        w: UnsafePointer<Float>, dw: UnsafeMutablePointer<Float>, db: UnsafeMutablePointer<Float>?,
        dx: UnsafeMutablePointer<Float>?, accumulateDx: Bool = false
    ) {
        Matmul.gemmAT(m: inputs, n: outputs, k: rows, a: x, b: dy, c: dw, accumulate: true)
        if let db {
            for r in 0..<rows {
                let dyr = dy + r * outputs
                for j in 0..<outputs { db[j] += dyr[j] }
            }
        }
        if let dx {
            Matmul.gemmBT(m: rows, n: inputs, k: outputs, a: dy, b: w, c: dx, accumulate: accumulateDx)
        }
    }

    // MARK: Activations

    /// In-place ReLU.
    static func relu(_ x: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { x[i] = max(x[i], 0) }
    }

    /// Zeroes `dy` where the ReLU output `y` was not positive.
    static func reluBackward(_ y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count where y[i] <= 0 { dy[i] = 0 }
    }

    private static let geluC: Float = 0.797_884_56  // √(2/π)

    /// eˣ without a libm call (Cephes' range reduction and degree-6 polynomial, a few ulp
    /// accurate; inputs clamped to the finite range). GELU and softmax call it hundreds of
    /// thousands of times per batch, where `expf`/`tanhf` calls dominated the time. Rounds with
    /// the 1.5·2²³ trick so that the scalar and the `SIMD8` version agree bit for bit.
    @inline(__always)
    static func fastExp(_ x: Float) -> Float {
        let cx = min(max(x, -87.3), 88.3)
        let m = cx * 1.442_695_04 + 12_582_912
        let n = m - 12_582_912
        let r = cx - n * 0.693_359_375 + n * 2.121_944_4e-4
        var p: Float = 1.987_569_15e-4
        p = p * r + 1.398_199_95e-3
        p = p * r + 8.333_451_9e-3
        p = p * r + 4.166_579_59e-2
        p = p * r + 1.666_666_55e-1
        p = p * r + 5.000_000_12e-1
        p = p * (r * r) + r + 1
        let bits = (Int32(bitPattern: m.bitPattern) &- 0x4B40_0000 &+ 127) &<< 23
        return p * Float(bitPattern: UInt32(bitPattern: bits))
    }

    /// `fastExp` on eight lanes (bit-identical per lane to the scalar version).
    @inline(__always)
    static func fastExp(_ x: SIMD8<Float>) -> SIMD8<Float> { KMERLKernels.Kernels.fastExp(x) }

    /// GELU of `count` values from `x` into `y` (eight lanes at a time; see `Kernels.gelu`).
    static func gelu(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        if KernelDispatch.avx2 {
            KMERLKernelsAVX2.Kernels.gelu(x, y, count: count)
        } else {
            KMERLKernels.Kernels.gelu(x, y, count: count)
        }
    }

    /// tanh through `fastExp` (absolute error below 1e-6).
    @inline(__always)
    static func fastTanh(_ x: Float) -> Float {
        1 - 2 / (fastExp(2 * x) + 1)
    }

    /// GELU (tanh approximation).
    @inline(__always)
    static func gelu(_ x: Float) -> Float {
        0.5 * x * (1 + fastTanh(geluC * (x + 0.044_715 * x * x * x)))
    }

    /// d GELU / dx.
    @inline(__always)
    static func geluDerivative(_ x: Float) -> Float {
        let u = geluC * (x + 0.044_715 * x * x * x)
        let t = fastTanh(u)
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * geluC * (1 + 3 * 0.044_715 * x * x)
    }

    // MARK: Layer norm

    /// Layer norm over the last dimension; stores per-row mean and 1/σ for the backward pass.
    static func layerNorm(
        _ x: UnsafePointer<Float>, rows: Int, dim: Int, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
        y: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>?, rstd: UnsafeMutablePointer<Float>?
    ) {
        if KernelDispatch.avx2 {
            KMERLKernelsAVX2.Kernels.layerNorm(x, rows: rows, dim: dim, gamma: gamma, beta: beta, y: y, mean: mean, rstd: rstd)
        } else {
            KMERLKernels.Kernels.layerNorm(x, rows: rows, dim: dim, gamma: gamma, beta: beta, y: y, mean: mean, rstd: rstd)
        }
    }

    /// Backward of `layerNorm`; adds into `dx`.
    static func layerNormBackward(
        _ x: UnsafePointer<Float>, dy: UnsafePointer<Float>, rows: Int, dim: Int, gamma: UnsafePointer<Float>,
        mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
        dgamma: UnsafeMutablePointer<Float>, dbeta: UnsafeMutablePointer<Float>, dx: UnsafeMutablePointer<Float>
    ) {
        for r in 0..<rows {
            let xr = x + r * dim
            let dyr = dy + r * dim
            let dxr = dx + r * dim
            let m = mean[r]
            let rs = rstd[r]
            var sumG: Float = 0
            var sumGX: Float = 0
            for j in 0..<dim {
                let xhat = (xr[j] - m) * rs
                let g = dyr[j] * gamma[j]
                dgamma[j] += dyr[j] * xhat
                dbeta[j] += dyr[j]
                sumG += g
                sumGX += g * xhat
            }
            let inv = 1 / Float(dim)
            for j in 0..<dim {
                let xhat = (xr[j] - m) * rs
                let g = dyr[j] * gamma[j]
                dxr[j] += rs * (g - inv * sumG - xhat * inv * sumGX)
            }
        }
    }

    // MARK: Multi-head self-attention over one short sequence

    /// Softmax attention for one sequence: `qkv[n × 3d]` → `out[n × d]`; stores the attention
    /// probabilities `probs[heads × n × n]` (see `Kernels.attention`).
    static func attention(_ qkv: UnsafePointer<Float>, n: Int, dim: Int, heads: Int, out: UnsafeMutablePointer<Float>, probs: UnsafeMutablePointer<Float>) {
        if KernelDispatch.avx2 {
            KMERLKernelsAVX2.Kernels.attention(qkv, n: n, dim: dim, heads: heads, out: out, probs: probs)
        } else {
            KMERLKernels.Kernels.attention(qkv, n: n, dim: dim, heads: heads, out: out, probs: probs)
        }
    }

    /// Backward of `attention`: writes `dqkv[n × 3d]`.
    static func attentionBackward(
        _ qkv: UnsafePointer<Float>, probs: UnsafePointer<Float>, dout: UnsafePointer<Float>, n: Int, dim: Int, heads: Int,
        dqkv: UnsafeMutablePointer<Float>
    ) {
        let dh = dim / heads
        let scale = 1 / Float(dh).squareRoot()
        let stride = 3 * dim
        dqkv.update(repeating: 0, count: n * stride)
        var dp = [Float](repeating: 0, count: n)
        for h in 0..<heads {
            let p = probs + h * n * n
            for i in 0..<n {
                let dO = dout + i * dim + h * dh
                var dot: Float = 0
                for j in 0..<n {
                    let v = qkv + j * stride + 2 * dim + h * dh
                    let dv = dqkv + j * stride + 2 * dim + h * dh
                    let a = p[i * n + j]
                    var s: Float = 0
                    for c in 0..<dh {
                        s += dO[c] * v[c]
                        dv[c] += a * dO[c]
                    }
                    dp[j] = s
                    dot += s * a
                }
                let q = qkv + i * stride + h * dh
                let dq = dqkv + i * stride + h * dh
                for j in 0..<n {
                    let ds = p[i * n + j] * (dp[j] - dot) * scale
                    if ds == 0 { continue }
                    let k = qkv + j * stride + dim + h * dh
                    let dk = dqkv + j * stride + dim + h * dh
                    for c in 0..<dh {
                        dq[c] += ds * k[c]
                        dk[c] += ds * q[c]
                    }
                }
            }
        }
    }

    // MARK: L2 normalisation

    /// Normalises each row of `x[rows × dim]` to unit length; stores the norms.
    static func normalize(_ x: UnsafePointer<Float>, rows: Int, dim: Int, y: UnsafeMutablePointer<Float>, norms: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            var s: Float = 0
            for j in 0..<dim { s += x[r * dim + j] * x[r * dim + j] }
            let nrm = max(s.squareRoot(), 1e-6)
            norms[r] = nrm
            for j in 0..<dim { y[r * dim + j] = x[r * dim + j] / nrm }
        }
    }

    /// Backward of `normalize`: `dx = (dy − y·(y·dy)) / ‖x‖` (written).
    static func normalizeBackward(_ y: UnsafePointer<Float>, dy: UnsafePointer<Float>, norms: UnsafePointer<Float>, rows: Int, dim: Int, dx: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            var d: Float = 0
            for j in 0..<dim { d += y[r * dim + j] * dy[r * dim + j] }
            for j in 0..<dim { dx[r * dim + j] = (dy[r * dim + j] - y[r * dim + j] * d) / norms[r] }
        }
    }
}
