import Foundation
import XCTest
import Kernels

/// Accuracy of the SIMD elementary functions against libm in Double. Errors are in units in the last
/// place (ulp) of the correctly rounded Float result; the bounds are the measured maxima rounded up.
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
}
