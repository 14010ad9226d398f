import Foundation
import KMERLKernels
import KMERLKernelsAVX2

/// Which compiled copy of the kernels (`KMERLKernels` or `KMERLKernelsAVX2`, the same source) this
/// process uses: AVX2 when the CPU has it, unless `KMERL_KERNELS=portable` is set. Both copies give
/// bit-identical results (same operations in the same order), so the choice only changes speed.
enum KernelDispatch {
    /// `true` when the AVX2 copy runs.
    static let avx2: Bool = {
        if ProcessInfo.processInfo.environment["KMERL_KERNELS"]?.lowercased() == "portable" { return false }
        return cpuHasAVX2()
    }()

    /// The name of the kernels in use (`avx2` or `portable`).
    static var name: String { avx2 ? KMERLKernelsAVX2.Kernels.instructionSet : KMERLKernels.Kernels.instructionSet }

    /// Whether the CPU (and the operating system, which hides the flag otherwise) supports AVX2.
    private static func cpuHasAVX2() -> Bool {
        #if arch(x86_64)
            #if os(Linux)
                guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
                    let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
                else { return false }
                return line.split(separator: " ").contains("avx2")
            #elseif canImport(Darwin)
                var value: Int32 = 0
                var size = MemoryLayout<Int32>.size
                return sysctlbyname("hw.optional.avx2_0", &value, &size, nil, 0) == 0 && value != 0
            #else
                return false
            #endif
        #else
            return false
        #endif
    }
}

/// Dense matrix kernels for the encoder: SIMD, no packing of B for whole 8-column panels, tiles of
/// 6×8 (portable) or 6×16 (AVX2) accumulators with `a + b * c` (no FMA: bit-identical on every
/// CPU). The kernel itself lives in `KMERLKernels.Kernels.gemm`; see `KernelDispatch`.
public enum Matmul {
    /// The name of the kernel copy in use on this machine (`avx2` or `portable`).
    public static var kernels: String { KernelDispatch.name }

    /// `C[m×n] (+)= A[m×k] · B[k×n]`, row-major with leading dimensions; `accumulate == false`
    /// overwrites C. Rows of A may overlap (`lda < k`).
    public static func gemm(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        accumulate: Bool
    ) {
        if KernelDispatch.avx2 {
            KMERLKernelsAVX2.Kernels.gemm(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, accumulate: accumulate)
        } else {
            KMERLKernels.Kernels.gemm(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, accumulate: accumulate)
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

    /// `C[m×n] (+)= A[k×m]ᵀ · B[k×n]` (A given row-major as k×m), read in place (`Kernels.gemmTN`).
    public static func gemmAT(
        m: Int, n: Int, k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, accumulate: Bool
    ) {
        if KernelDispatch.avx2 {
            KMERLKernelsAVX2.Kernels.gemmTN(m: m, n: n, k: k, a: a, lda: m, b: b, ldb: n, c: c, ldc: n, accumulate: accumulate)
        } else {
            KMERLKernels.Kernels.gemmTN(m: m, n: n, k: k, a: a, lda: m, b: b, ldb: n, c: c, ldc: n, accumulate: accumulate)
        }
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
