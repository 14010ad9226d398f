import Foundation
import Testing

@testable import KMERLModel

/// Finite-difference checks of every backward pass. Each op is wrapped as a scalar loss
/// L = Σ w ⊙ op(x) with fixed random w, and the analytic gradient is compared with central differences.
@Suite struct OpsTests {
    static func randomArray(_ n: Int, seed: UInt64, scale: Float = 1) -> [Float] {
        var rng = SeededGenerator(seed: seed)
        return (0..<n).map { _ in rng.nextGaussian() * scale }
    }

    /// Checks `grad` against central differences of `loss` at `x` on up to `samples` coordinates.
    static func check(_ x: [Float], grad: [Float], eps: Float = 1e-2, tolerance: Float = 2e-2, samples: Int = 40, loss: ([Float]) -> Float) {
        var rng = SeededGenerator(seed: 99)
        let idx = x.count <= samples ? Array(0..<x.count) : (0..<samples).map { _ in Int(rng.next() % UInt64(x.count)) }
        var worst: Float = 0
        for i in idx {
            var xp = x
            var xm = x
            xp[i] += eps
            xm[i] -= eps
            let fd = (loss(xp) - loss(xm)) / (2 * eps)
            let err = abs(fd - grad[i]) / max(1e-2, abs(fd) + abs(grad[i]))
            worst = max(worst, err)
        }
        #expect(worst < tolerance, "worst relative gradient error \(worst)")
    }

    static func weightedSum(_ y: Buffer, _ w: [Float]) -> Float {
        var s: Float = 0
        for i in 0..<y.count { s += y.p[i] * w[i] }
        return s
    }

    @Test func convolutionBackward() {
        let (n, length, cin, k, stride, pad, cout) = (2, 23, 3, 5, 2, 2, 4)
        let lout = Ops.convOutputLength(length, kernel: k, stride: stride, padding: pad)
        let x = Self.randomArray(n * length * cin, seed: 1)
        let w = Self.randomArray(k * cin * cout, seed: 2, scale: 0.3)
        let bias = Self.randomArray(cout, seed: 3)
        let wy = Self.randomArray(n * lout * cout, seed: 4)
        func forward(_ x: [Float], _ w: [Float]) -> (Buffer, Buffer) {
            let cols = Buffer(n * lout * k * cin)
            let xb = Buffer(x)
            Ops.im2col(xb.p, n: n, length: length, cin: cin, kernel: k, stride: stride, padding: pad, cols: cols.p)
            let y = Buffer(n * lout * cout)
            let wb = Buffer(w), bb = Buffer(bias)
            Ops.linear(cols.p, rows: n * lout, inputs: k * cin, outputs: cout, w: wb.p, b: bb.p, y: y.p)
            withExtendedLifetime((xb, wb, bb)) {}
            return (y, cols)
        }
        let (_, cols) = forward(x, w)
        let dy = Buffer(wy)
        let dw = Buffer(w.count), db = Buffer(cout), dcols = Buffer(cols.count), dx = Buffer(x.count)
        let wb = Buffer(w)
        Ops.linearBackward(cols.p, dy: dy.p, rows: n * lout, inputs: k * cin, outputs: cout, w: wb.p, dw: dw.p, db: db.p, dx: dcols.p)
        Ops.col2im(dcols.p, n: n, length: length, cin: cin, kernel: k, stride: stride, padding: pad, dx: dx.p)
        withExtendedLifetime((dy, wb)) {}
        Self.check(x, grad: dx.array) { Self.weightedSum(forward($0, w).0, wy) }
        Self.check(w, grad: dw.array) { Self.weightedSum(forward(x, $0).0, wy) }
        #expect(abs(db.array.reduce(0, +) - wy.reduce(0, +)) < 1e-3)
    }

    @Test func layerNormBackward() {
        let (rows, dim) = (3, 8)
        let x = Self.randomArray(rows * dim, seed: 5)
        let gamma = Self.randomArray(dim, seed: 6)
        let beta = Self.randomArray(dim, seed: 7)
        let wy = Self.randomArray(rows * dim, seed: 8)
        let betaBuffer = Buffer(beta)
        func forward(_ x: [Float], _ g: [Float]) -> Buffer {
            let y = Buffer(rows * dim), m = Buffer(rows), r = Buffer(rows)
            let xb = Buffer(x), gb = Buffer(g)
            Ops.layerNorm(xb.p, rows: rows, dim: dim, gamma: gb.p, beta: betaBuffer.p, y: y.p, mean: m.p, rstd: r.p)
            withExtendedLifetime((xb, gb)) {}
            return y
        }
        let y = Buffer(rows * dim), m = Buffer(rows), r = Buffer(rows)
        let xb = Buffer(x), gb = Buffer(gamma), wb = Buffer(wy)
        Ops.layerNorm(xb.p, rows: rows, dim: dim, gamma: gb.p, beta: betaBuffer.p, y: y.p, mean: m.p, rstd: r.p)
        let dx = Buffer(x.count), dg = Buffer(dim), dbeta = Buffer(dim)
        Ops.layerNormBackward(xb.p, dy: wb.p, rows: rows, dim: dim, gamma: gb.p, mean: m.p, rstd: r.p, dgamma: dg.p, dbeta: dbeta.p, dx: dx.p)
        withExtendedLifetime((xb, gb, wb, y)) {}
        Self.check(x, grad: dx.array) { Self.weightedSum(forward($0, gamma), wy) }
        Self.check(gamma, grad: dg.array) { Self.weightedSum(forward(x, $0), wy) }
    }

    @Test func attentionBackward() {
        let (n, dim, heads) = (5, 8, 2)
        let qkv = Self.randomArray(n * 3 * dim, seed: 9)
        let wy = Self.randomArray(n * dim, seed: 10)
        func forward(_ q: [Float]) -> (Buffer, Buffer) {
            let out = Buffer(n * dim), probs = Buffer(heads * n * n)
            let qb = Buffer(q)
            Ops.attention(qb.p, n: n, dim: dim, heads: heads, out: out.p, probs: probs.p)
            withExtendedLifetime(qb) {}
            return (out, probs)
        }
        let (_, probs) = forward(qkv)
        let dq = Buffer(qkv.count)
        let qb = Buffer(qkv), wb = Buffer(wy)
        Ops.attentionBackward(qb.p, probs: probs.p, dout: wb.p, n: n, dim: dim, heads: heads, dqkv: dq.p)
        withExtendedLifetime((qb, wb)) {}
        Self.check(qkv, grad: dq.array, samples: 120) { Self.weightedSum(forward($0).0, wy) }
    }

    @Test func fastExpAndTanhMatchLibm() {
        var worstExp: Float = 0
        var worstTanh: Float = 0
        var x: Float = -80
        while x < 80 {
            worstExp = max(worstExp, abs(Ops.fastExp(x) - Foundation.exp(x)) / Foundation.exp(x))
            if abs(x) < 12 { worstTanh = max(worstTanh, abs(Ops.fastTanh(x) - Foundation.tanh(x))) }
            x += 0.0137
        }
        #expect(worstExp < 2e-6, "relative error of fastExp \(worstExp)")
        // The eight-lane version is bit-identical to the scalar one (kernels mix them).
        var lanes = SIMD8<Float>(repeating: 0)
        var v: Float = -90
        while v < 90 {
            for k in 0..<8 { lanes[k] = v + Float(k) * 0.173 }
            let e = Ops.fastExp(lanes)
            for k in 0..<8 { #expect(e[k].bitPattern == Ops.fastExp(lanes[k]).bitPattern) }
            v += 1.37
        }
        #expect(worstTanh < 1e-6, "absolute error of fastTanh \(worstTanh)")
        #expect(Ops.fastExp(-200) >= 0 && Ops.fastExp(-200) < 1e-37)
        #expect(Ops.fastExp(200).isFinite && Ops.fastTanh(100) == 1 && Ops.fastTanh(-100) == -1)
        // GELU against the libm tanh formula.
        for v: Float in [-4, -1.3, -0.01, 0, 0.2, 2.5] {
            let reference = 0.5 * v * (1 + Foundation.tanh(0.797_884_56 * (v + 0.044_715 * v * v * v)))
            #expect(abs(Ops.gelu(v) - reference) < 2e-6)
        }
    }

    @Test func geluAndNormalizeBackward() {
        for x: Float in [-3, -1, -0.2, 0, 0.3, 1.5, 4] {
            let fd = (Ops.gelu(x + 1e-3) - Ops.gelu(x - 1e-3)) / 2e-3
            #expect(abs(fd - Ops.geluDerivative(x)) < 2e-3)
        }
        let (rows, dim) = (2, 6)
        let x = Self.randomArray(rows * dim, seed: 11)
        let wy = Self.randomArray(rows * dim, seed: 12)
        func forward(_ x: [Float]) -> (Buffer, Buffer) {
            let y = Buffer(rows * dim), nrm = Buffer(rows)
            let xb = Buffer(x)
            Ops.normalize(xb.p, rows: rows, dim: dim, y: y.p, norms: nrm.p)
            withExtendedLifetime(xb) {}
            return (y, nrm)
        }
        let (y, nrm) = forward(x)
        let dx = Buffer(x.count)
        let wb = Buffer(wy)
        Ops.normalizeBackward(y.p, dy: wb.p, norms: nrm.p, rows: rows, dim: dim, dx: dx.p)
        withExtendedLifetime(wb) {}
        Self.check(x, grad: dx.array) { Self.weightedSum(forward($0).0, wy) }
    }
}
