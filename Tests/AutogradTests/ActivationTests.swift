import Foundation
import XCTest
import Autograd
import Kernels

final class ActivationTests: XCTestCase {
    /// Inputs shared by the reference tests: both tails, the small-|x| region, and zero.
    let inputs: [Float] = [-30, -8, -3, -1.5, -0.5, -0.125, 1e-3, 0, 0.25, 1, 2.5, 6, 30]

    private func assertRelative(_ actual: [Float], _ expected: [Double], _ name: String, tolerance: Double = 3e-6,
                                absolute: Double = 1e-37, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.count, expected.count, name, file: file, line: line)
        for (i, (a, e)) in zip(actual, expected).enumerated() {
            XCTAssertLessThanOrEqual(abs(Double(a) - e), tolerance * abs(e) + absolute,
                                     "\(name)[\(i)]: \(a) vs \(e)", file: file, line: line)
        }
    }

    private func gradientCheck(_ op: @escaping (Tensor) -> Tensor, seed: UInt64 = 1, file: StaticString = #filePath,
                               line: UInt = #line) {
        var rng = RNG(seed: seed)
        let x = Tensor.randn([3, 7], rng: &rng, std: 2)   // 21 values: the SIMD body and the tail
        let r = GradientCheck.run([x]) { op($0[0]) }
        XCTAssertLessThan(r.maxError, 1e-2, "\(r)", file: file, line: line)
    }

    // Reference values: torch float64 on the Float inputs,
    // xs = torch.tensor([-30., -8., -3., -1.5, -0.5, -0.125, 1e-3, 0., 0.25, 1., 2.5, 6., 30.]).double()

    func testSiLUReferenceValues() {
        // F.silu(xs)
        assertRelative(silu(Tensor(shape: [13], data: inputs)).toArray(),
                       [-2.80728689e-12, -0.00268280104, -0.14227762, -0.273638286, -0.188770334, -0.0585988283,
                        0.000500250024, 0, 0.140544125, 0.731058579, 2.31035455, 5.98516426, 30], "silu")
    }

    func testQuickGELUReferenceValues() {
        // xs * torch.sigmoid(1.702 * xs) (transformers' QuickGELUActivation), float64
        assertRelative(quickGELU(Tensor(shape: [13], data: inputs)).toArray(),
                       [-2.00467977e-21, -9.76642887e-06, -0.0180713097, -0.108337802, -0.149611563, -0.0558765266,
                        0.000500425524, 0, 0.15119965, 0.845795766, 2.46501383, 5.99977965, 30], "quickGELU")
    }

    func testGELUReferenceValues() {
        let x = Tensor(shape: [13], data: inputs)
        // F.gelu(xs) computed as xs * 0.5 * torch.special.erfc(-xs / math.sqrt(2)): the same function (max
        // difference 1e-16), but without the cancellation of 1 + erf in F.gelu's own float64 tail (there
        // F.gelu(-8) = -4.885e-15 while the true value is -4.977e-15).
        assertRelative(gelu(x).toArray(),
                       [-1.47201418e-196, -4.97676846e-15, -0.00404969409, -0.100210802, -0.154268769, -0.0562827219,
                        0.000500398966, 0, 0.149676581, 0.841344746, 2.48447584, 5.99999999, 30], "gelu")
        // F.gelu(xs, approximate='tanh') computed as xs * torch.sigmoid(2 * math.sqrt(2 / math.pi) * (xs + 0.044715 * xs**3)),
        // the same as 0.5·x·(1 + tanh(u)) (max difference 3e-17) without its cancellation for x ≪ 0.
        assertRelative(gelu(x, approximate: .tanh).toArray(),
                       [-0, -3.10778294e-21, -0.00363739208, -0.100428423, -0.15428599, -0.0562828014, 0.000500398966,
                        0, 0.149675351, 0.841191991, 2.48491573, 6, 30], "gelu tanh")
    }

    func testGEGLUReferenceValues() {
        // xg = ((torch.arange(12) * 7) % 23 - 11).double().reshape(2, 6) / 4; h, g = xg.chunk(2, dim=-1)
        let x = Tensor(shape: [2, 6], data: (0..<12).map { Float((($0 * 7) % 23) - 11) / 4 })
        let y = geglu(x)
        XCTAssertEqual(y.shape, [2, 3])
        // h * F.gelu(g)  (computed in the erfc form, see testGELUReferenceValues)
        assertRelative(y.toArray(), [-6.83230855, 0.100210802, 0.112257436, 2.7995784, 0.0310483266, 0.0424926286], "geglu")
        // h * F.gelu(g, approximate='tanh')  (computed in the sigmoid form)
        assertRelative(geglu(x, approximate: .tanh).toArray(),
                       [-6.83351827, 0.100428423, 0.112256513, 2.79914315, 0.0301685322, 0.0425098612], "geglu tanh")
    }

    func testSigmoidFamilyReferenceValues() {
        let x = Tensor(shape: [13], data: inputs)
        // torch.sigmoid(xs)
        assertRelative(sigmoid(x).toArray(),
                       [9.35762297e-14, 0.00033535013, 0.0474258732, 0.182425524, 0.377540669, 0.468790627, 0.50025,
                        0.5, 0.562176501, 0.731058579, 0.92414182, 0.997527377, 1], "sigmoid")
        // F.logsigmoid(xs)
        assertRelative(logSigmoid(x).toArray(),
                       [-30, -8.00033541, -3.04858735, -1.70141328, -0.974076984, -0.757599035, -0.692647306,
                        -0.693147181, -0.57593942, -0.313261688, -0.0788897343, -0.00247568514, -9.35762297e-14],
                       "logSigmoid")
        // F.softplus(xs)
        assertRelative(softplus(x).toArray(),
                       [9.35762297e-14, 0.000335406373, 0.0485873516, 0.201413278, 0.474076984, 0.632599035,
                        0.693647306, 0.693147181, 0.82593942, 1.31326169, 2.57888973, 6.00247569, 30], "softplus")
    }

    func testExpFamilyReferenceValues() {
        let x = Tensor(shape: [13], data: inputs)
        // torch.expm1(xs)
        assertRelative(expm1(x).toArray(),
                       [-1, -0.999664537, -0.950212932, -0.77686984, -0.39346934, -0.117503097, 0.00100050021, 0,
                        0.284025417, 1.71828183, 11.182494, 402.428793, 1.06864746e+13], "expm1")
        // torch.exp(xs)
        assertRelative(exp(x).toArray(),
                       [9.35762297e-14, 0.000335462628, 0.0497870684, 0.22313016, 0.60653066, 0.882496903, 1.0010005,
                        1, 1.28402542, 2.71828183, 12.182494, 403.428793, 1.06864746e+13], "exp")
        // torch.square(xs)
        assertRelative(square(x).toArray(),
                       [900, 64, 9, 2.25, 0.25, 0.015625, 1.00000009e-06, 0, 0.0625, 1, 6.25, 36, 900], "square")
    }

    /// The SIMD body (not only the tail) against libm in Double, on 1,000 values over ±12.
    func testLongInputsMatchLibm() {
        var rng = RNG(seed: 5)
        let x = Tensor.rand([1000], rng: &rng, low: -12, high: 12)
        let xs = x.toArray().map(Double.init)
        func sig(_ v: Double) -> Double { 1 / (1 + Foundation.exp(-v)) }
        assertRelative(silu(x).toArray(), xs.map { $0 * sig($0) }, "silu", tolerance: 4e-6)
        assertRelative(quickGELU(x).toArray(), xs.map { $0 * sig(1.702 * $0) }, "quickGELU", tolerance: 4e-6)
        assertRelative(gelu(x).toArray(), xs.map { 0.5 * $0 * Foundation.erfc(-$0 / 2.0.squareRoot()) }, "gelu", tolerance: 4e-6)
        assertRelative(gelu(x, approximate: .tanh).toArray(),
                       xs.map { $0 / (1 + Foundation.exp(-2 * 0.7978845608028654 * ($0 + 0.044715 * $0 * $0 * $0))) },
                       "gelu tanh", tolerance: 4e-6,
                       absolute: 1e-12)  // far left, σ(2u) has relative error ~|2u|·ε from rounding u itself
        assertRelative(sigmoid(x).toArray(), xs.map(sig), "sigmoid", tolerance: 4e-6)
        assertRelative(softplus(x).toArray(), xs.map { Foundation.log1p(Foundation.exp($0)) }, "softplus", tolerance: 4e-6)
        assertRelative(logSigmoid(x).toArray(), xs.map { -Foundation.log1p(Foundation.exp(-$0)) }, "logSigmoid", tolerance: 4e-6)
        assertRelative(expm1(x).toArray(), xs.map(Foundation.expm1), "expm1", tolerance: 4e-6)
        assertRelative(exp(x).toArray(), xs.map(Foundation.exp), "exp", tolerance: 4e-6)
    }

    /// Huge, infinite and NaN inputs give the limits (or NaN for NaN), never a spurious NaN.
    func testExtremeInputs() {
        let x = Tensor(shape: [6], data: [-1e30, -200, 200, 1e30, .infinity, -.infinity])
        for (name, y) in [("silu", silu(x)), ("quickGELU", quickGELU(x)), ("gelu", gelu(x)), ("gelu tanh", gelu(x, approximate: .tanh)),
                          ("sigmoid", sigmoid(x)), ("softplus", softplus(x)), ("logSigmoid", logSigmoid(x))] {
            XCTAssertFalse(y.toArray()[0..<5].contains { $0.isNaN }, "\(name): \(y.toArray())")
        }
        XCTAssertEqual(sigmoid(x).toArray(), [0, 0, 1, 1, 1, 0])
        XCTAssertEqual(softplus(x).toArray()[3], 1e30)
        XCTAssertEqual(logSigmoid(x).toArray()[0], -1e30)
        XCTAssertEqual(exp(x).toArray(), [0, 0, .infinity, .infinity, .infinity, 0])
        XCTAssertEqual(expm1(x).toArray(), [-1, -1, .infinity, .infinity, .infinity, -1])
        XCTAssertTrue(gelu(Tensor(shape: [1], data: [.nan])).item().isNaN)
        // Gradients stay finite too.
        let xs = Tensor(shape: [4], data: [-1e30, -200, 200, 1e30], requiresGrad: true)
        for (name, f) in [("silu", silu), ("quickGELU", quickGELU), ("gelu", { gelu($0) }), ("gelu tanh", { gelu($0, approximate: .tanh) }),
                          ("softplus", softplus), ("logSigmoid", logSigmoid)] as [(String, (Tensor) -> Tensor)] {
            xs.grad = nil
            f(xs).backward(Tensor.full([4], 1))
            XCTAssertFalse(xs.grad?.toArray().contains { !$0.isFinite } ?? true, "\(name) gradient: \(String(describing: xs.grad))")
        }
    }

    func testGradients() {
        gradientCheck(silu)
        gradientCheck(quickGELU)
        gradientCheck { gelu($0) }
        gradientCheck { gelu($0, approximate: .tanh) }
        gradientCheck(sigmoid)
        gradientCheck(logSigmoid)
        gradientCheck(softplus)
        gradientCheck(expm1)
        gradientCheck(exp, seed: 2)
        gradientCheck(square)
    }

    func testGEGLUGradient() {
        var rng = RNG(seed: 3)
        let x = Tensor.randn([3, 2, 38], rng: &rng, std: 1.5)   // half = 19: the SIMD body and the tail
        for approximate in [GELUApproximation.none, .tanh] {
            let r = GradientCheck.run([x]) { geglu($0[0], approximate: approximate) }
            XCTAssertLessThan(r.maxError, 1e-2, "\(approximate): \(r)")
        }
    }

    func testNoGraphWithoutGrad() {
        let x = Tensor(shape: [2], data: [1, 2], requiresGrad: true)
        let y = GradMode.withoutGrad { silu(x) }
        XCTAssertFalse(y.requiresGrad)
        XCTAssertTrue(silu(x).requiresGrad)
    }
}
