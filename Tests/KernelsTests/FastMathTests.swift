import Foundation
import XCTest
import Kernels

/// Accuracy of the SIMD elementary functions against libm in Double. Errors are in units in the last
/// place (ulp) of the correctly rounded Float result; each bound is the measured maximum rounded up.
/// Measured maxima (AVX-512, Swift 6.3): exp 0.99, expm1 1.39, log 0.78, log1p 1.99, tanh 1.27,
/// sigmoid 2.14, erf 2.26, erfc 3.65 (deep tail, x ≈ 8.5), normalCDF 4.57 (x ≈ −9.6), normalPDF 3.40.
/// Each test prints its measured maximum.
final class FastMathTests: XCTestCase {
    typealias V = SIMD16<Float>

    /// Max ulp error of f over xs, and the worst input.
    func maxULP(_ xs: [Float], _ f: (V) -> V, _ reference: (Double) -> Double) -> (ulp: Double, at: Float) {
        var worst = 0.0, at: Float = 0
        var i = 0
        while i < xs.count {
            var v = V(repeating: 0)
            let n = min(16, xs.count - i)
            for j in 0..<n { v[j] = xs[i + j] }
            let y = f(v)
            for j in 0..<n {
                let ref = reference(Double(xs[i + j]))
                let ulp = Double(Float(ref).ulp)
                let err = abs(Double(y[j]) - ref) / ulp
                if !(err <= worst) { worst = err; at = xs[i + j] }
            }
            i += 16
        }
        return (worst, at)
    }

    /// n evenly spaced points in [a, b].
    func sweep(_ a: Float, _ b: Float, _ n: Int = 200_000) -> [Float] {
        (0..<n).map { a + (b - a) * Float($0) / Float(n - 1) }
    }

    /// n points log-spaced in [a, b] (a, b > 0), with both signs when `signed`.
    func logSweep(_ a: Double, _ b: Double, _ n: Int = 100_000, signed: Bool = false) -> [Float] {
        let pos = (0..<n).map { Float(Foundation.exp(Foundation.log(a) + (Foundation.log(b) - Foundation.log(a)) * Double($0) / Double(n - 1))) }
        return signed ? pos + pos.map { -$0 } : pos
    }

    func report(_ name: String, _ r: (ulp: Double, at: Float), below bound: Double) {
        print("FastMath.\(name): max error \(String(format: "%.2f", r.ulp)) ulp at x = \(r.at)")
        XCTAssertLessThanOrEqual(r.ulp, bound, "\(name): \(r.ulp) ulp at \(r.at)")
    }

    func testExp() {
        report("exp", maxULP(sweep(-87.3, 88.72) + logSweep(1e-8, 1, signed: true), FastMath.exp, Foundation.exp), below: 1.5)
    }

    func testExpm1() {
        report("expm1", maxULP(sweep(-20, 88.7) + logSweep(1e-30, 1, signed: true), FastMath.expm1, Foundation.expm1), below: 2.5)
    }

    func testLog() {
        report("log", maxULP(logSweep(1e-37, 3e38) + sweep(0.5, 2), FastMath.log, Foundation.log), below: 1.5)
    }

    func testLog1p() {
        report("log1p", maxULP(logSweep(1e-30, 1e30, signed: false) + logSweep(1e-30, 0.999, signed: false).map { -$0 },
                               FastMath.log1p, Foundation.log1p), below: 2.5)
    }

    func testTanh() {
        report("tanh", maxULP(sweep(-10, 10) + logSweep(1e-30, 1, signed: true), FastMath.tanh, Foundation.tanh), below: 2.5)
    }

    func testSigmoid() {
        report("sigmoid", maxULP(sweep(-87, 30), FastMath.sigmoid, { 1 / (1 + Foundation.exp(-$0)) }), below: 2.5)
    }

    func testErf() {
        report("erf", maxULP(sweep(-5, 5) + logSweep(1e-30, 0.5, signed: true), FastMath.erf, Foundation.erf), below: 2.5)
    }

    func testErfc() {
        report("erfc", maxULP(sweep(-5, 9.9), FastMath.erfc, Foundation.erfc), below: 4)
    }

    func testNormalCDFAndPDF() {
        report("normalCDF", maxULP(sweep(-13.5, 8), FastMath.normalCDF, { 0.5 * Foundation.erfc(-$0 / 2.0.squareRoot()) }), below: 5)
        report("normalPDF", maxULP(sweep(-13, 13), FastMath.normalPDF, { Foundation.exp(-0.5 * $0 * $0) / (2 * Double.pi).squareRoot() }), below: 4)
    }

    /// IEEE special values and the ends of the ranges, one lane each, so a bad lane can't hide in a sweep.
    func testSpecialValues() {
        func one(_ f: (V) -> V, _ x: Float) -> Float { f(V(repeating: x))[0] }
        let inf = Float.infinity
        XCTAssertEqual(one(FastMath.exp, inf), inf)
        XCTAssertEqual(one(FastMath.exp, -inf), 0)
        XCTAssertEqual(one(FastMath.exp, 89), inf)
        XCTAssertEqual(one(FastMath.exp, 88.7), Float(Foundation.exp(Double(Float(88.7)))), accuracy: 3e31)
        XCTAssertEqual(one(FastMath.exp, -100), 3.720076e-44, accuracy: 2e-45)   // subnormal, gradual underflow
        XCTAssertEqual(one(FastMath.exp, -110), 0)
        XCTAssertTrue(one(FastMath.exp, .nan).isNaN)
        XCTAssertEqual(one(FastMath.expm1, -inf), -1)
        XCTAssertEqual(one(FastMath.expm1, inf), inf)
        XCTAssertEqual(one(FastMath.expm1, 1e-30), 1e-30)
        XCTAssertEqual(one(FastMath.log, 0), -inf)
        XCTAssertEqual(one(FastMath.log, inf), inf)
        XCTAssertTrue(one(FastMath.log, -1).isNaN)
        XCTAssertTrue(one(FastMath.log, .nan).isNaN)
        XCTAssertEqual(one(FastMath.log, 1e-40), Float(Foundation.log(Double(Float(1e-40)))), accuracy: 1e-5)  // subnormal input
        XCTAssertEqual(one(FastMath.log1p, -1), -inf)
        XCTAssertTrue(one(FastMath.log1p, -2).isNaN)
        XCTAssertEqual(one(FastMath.log1p, inf), inf)
        XCTAssertEqual(one(FastMath.log1p, 1e-30), 1e-30)
        XCTAssertEqual(one(FastMath.tanh, inf), 1)
        XCTAssertEqual(one(FastMath.tanh, -inf), -1)
        XCTAssertEqual(one(FastMath.tanh, -0.0).sign, .minus)
        XCTAssertEqual(one(FastMath.sigmoid, inf), 1)
        XCTAssertEqual(one(FastMath.sigmoid, -inf), 0)
        XCTAssertEqual(one(FastMath.erf, inf), 1)
        XCTAssertEqual(one(FastMath.erf, -inf), -1)
        XCTAssertEqual(one(FastMath.erfc, inf), 0)
        XCTAssertEqual(one(FastMath.erfc, -inf), 2)
        XCTAssertEqual(one(FastMath.normalCDF, inf), 1)
        XCTAssertEqual(one(FastMath.normalCDF, -inf), 0)
        XCTAssertEqual(one(FastMath.normalPDF, inf), 0)
        for f in [FastMath.exp, FastMath.expm1, FastMath.log1p, FastMath.tanh, FastMath.sigmoid, FastMath.erf,
                  FastMath.erfc, FastMath.normalCDF, FastMath.normalPDF] {
            XCTAssertTrue(one(f, .nan).isNaN)
        }
    }
}
