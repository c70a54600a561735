import Kernels
import XCTest

/// `BLAS.sgemm` (β = 0 zeroes C itself before OpenBLAS accumulates with β = 1) and the split
/// `MatrixMultiplyKernels.gemm`, against a Double reference.
final class GEMMTests: XCTestCase {
    struct Case { var m, n, k: Int; var transA, transB: Bool }

    static func reference(_ c: Case, a: [Float], lda: Int, b: [Float], ldb: Int, alpha: Float) -> [Double] {
        var out = [Double](repeating: 0, count: c.m * c.n)
        for i in 0..<c.m {
            for j in 0..<c.n {
                var s = 0.0
                for p in 0..<c.k {
                    let av = c.transA ? a[p * lda + i] : a[i * lda + p]
                    let bv = c.transB ? b[j * ldb + p] : b[p * ldb + j]
                    s += Double(av) * Double(bv)
                }
                out[i * c.n + j] = Double(alpha) * s
            }
        }
        return out
    }

    static func values(_ count: Int, seed: UInt64) -> [Float] {
        var rng = RNG(seed: seed)
        var v = [Float](repeating: 0, count: count)
        v.withUnsafeMutableBufferPointer { rng.fillNormal($0.baseAddress!, count: count) }
        return v
    }

    /// β = 0 ignores what C held (NaN here) and writes only the m×n window of a strided C; β = 1 adds.
    func testBetaZeroOverwritesAndBetaOneAccumulatesInAStridedOutput() {
        let cases = [Case(m: 5, n: 7, k: 3, transA: false, transB: false), Case(m: 16, n: 33, k: 9, transA: true, transB: false),
                     Case(m: 31, n: 8, k: 17, transA: false, transB: true), Case(m: 4, n: 4, k: 64, transA: true, transB: true)]
        for (index, c) in cases.enumerated() {
            let lda = (c.transA ? c.m : c.k) + 2, ldb = (c.transB ? c.k : c.n) + 1, ldc = c.n + 3
            let a = Self.values((c.transA ? c.k : c.m) * lda, seed: UInt64(index)), b = Self.values((c.transB ? c.n : c.k) * ldb, seed: 99)
            let expected = Self.reference(c, a: a, lda: lda, b: b, ldb: ldb, alpha: 0.5)
            var out = [Float](repeating: .nan, count: c.m * ldc)
            BLAS.sgemm(transA: c.transA, transB: c.transB, m: c.m, n: c.n, k: c.k, alpha: 0.5, a: a, lda: lda, b: b, ldb: ldb,
                       beta: 0, c: &out, ldc: ldc)
            for i in 0..<c.m {
                for j in 0..<ldc {
                    if j < c.n {
                        XCTAssertEqual(Double(out[i * ldc + j]), expected[i * c.n + j], accuracy: 1e-5 * Double(c.k), "case \(index) (\(i), \(j))")
                    } else {
                        XCTAssertTrue(out[i * ldc + j].isNaN, "case \(index): column \(j) outside C was written")
                    }
                }
            }
            BLAS.sgemm(transA: c.transA, transB: c.transB, m: c.m, n: c.n, k: c.k, alpha: 0.5, a: a, lda: lda, b: b, ldb: ldb,
                       beta: 1, c: &out, ldc: ldc)
            for i in 0..<c.m {
                for j in 0..<c.n {
                    XCTAssertEqual(Double(out[i * ldc + j]), 2 * expected[i * c.n + j], accuracy: 2e-5 * Double(c.k), "case \(index) β = 1")
                }
            }
        }
    }

    /// k = 0: C = β·C (OpenBLAS would leave C untouched), so β = 0 still clears it.
    func testEmptyInnerDimensionClearsOrScalesC() {
        var out: [Float] = [1, 2, 3, 4]
        let none: [Float] = [0]
        BLAS.sgemm(m: 2, n: 2, k: 0, a: none, lda: 1, b: none, ldb: 2, beta: 0, c: &out, ldc: 2)
        XCTAssertEqual(out, [0, 0, 0, 0])
        out = [1, 2, 3, 4]
        BLAS.sgemm(m: 2, n: 2, k: 0, a: none, lda: 1, b: none, ldb: 2, beta: 2, c: &out, ldc: 2)
        XCTAssertEqual(out, [2, 4, 6, 8])
    }

    /// Above the split threshold the product is cut into one block of rows (or columns) per core, each a
    /// single-threaded GEMM into its own part of C: every block lands in place and matches the reference.
    func testSplitGEMMEqualsOneCall() {
        for c in [Case(m: 300, n: 70, k: 40, transA: false, transB: true), Case(m: 40, n: 513, k: 33, transA: true, transB: false)] {
            let lda = c.transA ? c.m : c.k, ldb = c.transB ? c.k : c.n
            let a = Self.values(c.m * c.k, seed: 5), b = Self.values(c.k * c.n, seed: 6)
            XCTAssertGreaterThan(c.m * c.n * c.k, MatrixMultiplyKernels.splitThreshold)
            var split = [Float](repeating: .nan, count: c.m * c.n)
            MatrixMultiplyKernels.gemm(transA: c.transA, transB: c.transB, m: c.m, n: c.n, k: c.k, a: a, lda: lda, b: b, ldb: ldb,
                                       c: &split, ldc: c.n)
            let expected = Self.reference(c, a: a, lda: lda, b: b, ldb: ldb, alpha: 1)
            let worst = zip(split, expected).map { abs(Double($0) - $1) }.max() ?? .nan
            XCTAssertLessThan(worst, 1e-4, "\(c.m)×\(c.n)×\(c.k)")
        }
    }
}
