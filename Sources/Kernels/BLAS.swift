import CBLAS
import Foundation

/// Row-major single-precision GEMM through OpenBLAS: C = alpha·op(A)·op(B) + beta·C.
/// op(A) is m×k, op(B) is k×n, C is m×n; lda/ldb/ldc are the row strides of the stored matrices.
public enum BLAS {
    /// The CPU kernels OpenBLAS chose when it loaded ("Haswell", "SkylakeX", "Cooperlake", …).
    public static var coreName: String { openblas_get_corename().map { String(cString: $0) } ?? "unknown" }

    @inlinable
    public static func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                             alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                             b: UnsafePointer<Float>, ldb: Int,
                             beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard m > 0, n > 0 else { return }
        Threading.configure()
        if k == 0 {  // OpenBLAS leaves C untouched for k = 0; honour beta ourselves.
            for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
            return
        }
        // OpenBLAS applies β in a pass of its own before the product (sgemm_beta), which for β = 0 zeroes C
        // at a fraction of memset's speed: 9–37% of a single-threaded GEMM at the U-Net's small-k shapes.
        // Zeroing C here and accumulating into it with β = 1 gives the same bits.
        var beta = beta
        if beta == 0 {
            if ldc == n {
                memset(c, 0, m * n * MemoryLayout<Float>.stride)
            } else {
                for i in 0..<m { memset(c + i * ldc, 0, n * MemoryLayout<Float>.stride) }
            }
            beta = 1
        }
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}
