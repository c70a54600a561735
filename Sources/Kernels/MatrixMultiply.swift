import Foundation

/// Matrix products and the linear layer (torch layout: weight [out, in]), all through `BLAS.sgemm`.
///
/// OpenBLAS's own threads are never used here. After a multi-threaded call they busy-wait ~0.1 s for
/// more work (measured: 99 ms of CPU burnt during a 200 ms sleep after one 2-thread GEMM), taking a core
/// from the per-core Swift parallelism that convolution, attention and the pointwise kernels use next
/// (measured: two-core work right after a 2-thread GEMM ran 1.4–1.9× slower, median of paired runs).
/// Large products are instead cut into one block of C per core, each computed by single-threaded BLAS
/// inside `Threading.parallelBatch`.
public enum MatrixMultiplyKernels {
    /// Below this m·n·k OpenBLAS runs on one thread anyway (its SMP threshold, 65536 × 4), and a split
    /// would cost more than it saves.
    public static let splitThreshold = 1 << 18

    /// C = alpha·op(A)·op(B) + beta·C (row-major; op(A) is m×k, op(B) is k×n), split over the cores by
    /// blocks of rows of C (or of columns when C is wider than tall). Must not be called from inside
    /// `Threading.parallelBatch`/`parallelFor` workers: call `BLAS.sgemm` there.
    public static func gemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
                            a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                            beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        let alongRows = m >= n
        let length = alongRows ? m : n
        let parts = m * n * k <= splitThreshold || length < 2 ? 1 : Threading.cores
        if parts <= 1 {
            BLAS.sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                       beta: beta, c: c, ldc: ldc)
            return
        }
        // Block boundaries on multiples of 16 (the GEMM kernels' register tile) when the blocks are large enough.
        func boundary(_ p: Int) -> Int {
            if p >= parts { return length }
            return length >= 16 * parts ? (length * p / parts) / 16 * 16 : length * p / parts
        }
        Threading.parallelBatch(parts) { p in
            let lo = boundary(p), hi = boundary(p + 1)
            guard hi > lo else { return }
            if alongRows {
                BLAS.sgemm(transA: transA, transB: transB, m: hi - lo, n: n, k: k, alpha: alpha,
                           a: transA ? a + lo : a + lo * lda, lda: lda, b: b, ldb: ldb,
                           beta: beta, c: c + lo * ldc, ldc: ldc)
            } else {
                BLAS.sgemm(transA: transA, transB: transB, m: m, n: hi - lo, k: k, alpha: alpha, a: a, lda: lda,
                           b: transB ? b + lo * ldb : b + lo, ldb: ldb, beta: beta, c: c + lo, ldc: ldc)
            }
        }
    }

    /// C[i] = op(A[i])·op(B[i]) for i in 0..<batch, matrices `strideA/B/C` floats apart (stride 0 repeats one).
    /// op(A) is m×k, op(B) is k×n, C is m×n, all row-major and dense.
    public static func batchedGemm(transA: Bool = false, transB: Bool = false, batch: Int, m: Int, n: Int, k: Int,
                                   a: UnsafePointer<Float>, strideA: Int, b: UnsafePointer<Float>, strideB: Int,
                                   c: UnsafeMutablePointer<Float>, strideC: Int, accumulate: Bool = false) {
        let lda = transA ? m : k, ldb = transB ? k : n
        let beta: Float = accumulate ? 1 : 0
        if batch >= Threading.cores && strideC != 0 {
            // Whole products per core.
            Threading.parallelBatch(batch) { i in
                BLAS.sgemm(transA: transA, transB: transB, m: m, n: n, k: k, a: a + i * strideA, lda: lda,
                           b: b + i * strideB, ldb: ldb, beta: beta, c: c + i * strideC, ldc: n)
            }
        } else {
            for i in 0..<batch {
                gemm(transA: transA, transB: transB, m: m, n: n, k: k, a: a + i * strideA, lda: lda,
                     b: b + i * strideB, ldb: ldb, beta: beta, c: c + i * strideC, ldc: n)
            }
        }
    }

    /// y[r, :] = x[r, :]·Wᵀ + bias, x [rows, inFeatures], weight [outFeatures, inFeatures].
    public static func linearForward(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                     _ y: UnsafeMutablePointer<Float>, rows: Int, inFeatures: Int, outFeatures: Int) {
        if let bias {
            Threading.parallelRanges(rows, minChunk: max(1, (1 << 16) / max(outFeatures, 1))) { r in
                for i in r { (y + i * outFeatures).update(from: bias, count: outFeatures) }
            }
        }
        gemm(transB: true, m: rows, n: outFeatures, k: inFeatures, a: x, lda: inFeatures,
             b: weight, ldb: inFeatures, beta: bias == nil ? 0 : 1, c: y, ldc: outFeatures)
    }

    /// dx = dy·W, dW = dyᵀ·x, dbias = Σ_rows dy; pass nil for the gradients not needed.
    public static func linearBackward(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                                      dx: UnsafeMutablePointer<Float>?, dWeight: UnsafeMutablePointer<Float>?,
                                      dBias: UnsafeMutablePointer<Float>?, rows: Int, inFeatures: Int, outFeatures: Int) {
        if let dx {
            gemm(m: rows, n: inFeatures, k: outFeatures, a: dy, lda: outFeatures, b: weight, ldb: inFeatures,
                 c: dx, ldc: inFeatures)
        }
        if let dWeight {
            gemm(transA: true, m: outFeatures, n: inFeatures, k: rows, a: dy, lda: outFeatures, b: x, ldb: inFeatures,
                 c: dWeight, ldc: inFeatures)
        }
        if let dBias {
            ReductionKernels.sumColumns(dy, rows: rows, cols: outFeatures, dBias)
        }
    }
}
