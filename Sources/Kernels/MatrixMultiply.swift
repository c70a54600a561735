import Foundation

/// Matrix products and the linear layer (torch layout: weight [out, in]), all through `BLAS.sgemm`.
public enum MatrixMultiplyKernels {
    /// Products smaller than this (m·n·k) run one per core with single-threaded BLAS; larger ones run
    /// one after the other with BLAS using every core (a 2-thread GEMM only pays off on enough work).
    public static let perCoreBatchLimit = 1 << 20

    /// C[i] = op(A[i])·op(B[i]) for i in 0..<batch, matrices `strideA/B/C` floats apart (stride 0 repeats one).
    /// op(A) is m×k, op(B) is k×n, C is m×n, all row-major and dense.
    public static func batchedGemm(transA: Bool = false, transB: Bool = false, batch: Int, m: Int, n: Int, k: Int,
                                   a: UnsafePointer<Float>, strideA: Int, b: UnsafePointer<Float>, strideB: Int,
                                   c: UnsafeMutablePointer<Float>, strideC: Int, accumulate: Bool = false) {
        Threading.configure()
        let lda = transA ? m : k, ldb = transB ? k : n
        let beta: Float = accumulate ? 1 : 0
        let body = { (i: Int) in
            BLAS.sgemm(transA: transA, transB: transB, m: m, n: n, k: k, a: a + i * strideA, lda: lda,
                       b: b + i * strideB, ldb: ldb, beta: beta, c: c + i * strideC, ldc: n)
        }
        if batch > 1 && m * n * k < perCoreBatchLimit && strideC != 0 {
            Threading.parallelBatch(batch, body)
        } else {
            for i in 0..<batch { body(i) }
        }
    }

    /// y[r, :] = x[r, :]·Wᵀ + bias, x [rows, inFeatures], weight [outFeatures, inFeatures].
    public static func linearForward(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                     _ y: UnsafeMutablePointer<Float>, rows: Int, inFeatures: Int, outFeatures: Int) {
        Threading.configure()
        if let bias {
            Threading.parallelRanges(rows, minChunk: max(1, (1 << 16) / max(outFeatures, 1))) { r in
                for i in r { (y + i * outFeatures).update(from: bias, count: outFeatures) }
            }
        }
        BLAS.sgemm(transB: true, m: rows, n: outFeatures, k: inFeatures, a: x, lda: inFeatures,
                   b: weight, ldb: inFeatures, beta: bias == nil ? 0 : 1, c: y, ldc: outFeatures)
    }

    /// dx = dy·W, dW = dyᵀ·x, dbias = Σ_rows dy; pass nil for the gradients not needed.
    public static func linearBackward(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                                      dx: UnsafeMutablePointer<Float>?, dWeight: UnsafeMutablePointer<Float>?,
                                      dBias: UnsafeMutablePointer<Float>?, rows: Int, inFeatures: Int, outFeatures: Int) {
        Threading.configure()
        if let dx {
            BLAS.sgemm(m: rows, n: inFeatures, k: outFeatures, a: dy, lda: outFeatures,
                       b: weight, ldb: inFeatures, c: dx, ldc: inFeatures)
        }
        if let dWeight {
            BLAS.sgemm(transA: true, m: outFeatures, n: inFeatures, k: rows, a: dy, lda: outFeatures,
                       b: x, ldb: inFeatures, c: dWeight, ldc: inFeatures)
        }
        if let dBias {
            ReductionKernels.sumColumns(dy, rows: rows, cols: outFeatures, dBias)
        }
    }
}
