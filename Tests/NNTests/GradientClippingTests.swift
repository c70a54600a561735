import Autograd
import Foundation
import NN
import XCTest

final class GradientClippingTests: XCTestCase {
    /// Gradients g_j[i] = sin(i·0.37 + j)·(j + 1) for shapes [37], [2, 3], [4].
    private func makeParameters() -> [Tensor] {
        [[37], [2, 3], [4]].enumerated().map { j, shape in
            let p = Tensor(zeros: shape, requiresGrad: true)
            p.grad = Tensor(shape: shape, data: sinValues(p.count, offset: Double(j)).map { $0 * Float(j + 1) })
            return p
        }
    }

    /// Reference: torch 2.13.0:
    ///
    ///     ps = [torch.zeros(s, requires_grad=True) for s in ([37], [2, 3], [4])]
    ///     for j, p in enumerate(ps):
    ///         p.grad = torch.tensor([math.sin(i * 0.37 + j) * (j + 1) for i in range(p.numel())],
    ///                               dtype=torch.float32).reshape(p.shape)
    ///     norm = torch.nn.utils.clip_grad_norm_(ps, max_norm)   # → 6.792476177215576 for both max_norms
    ///     ps[1].grad                                            # printed with repr(float(x))
    func testClipsLikeTorch() {
        let params = makeParameters()
        let norm = clipGradNorm(params, maxNorm: 1.0)
        XCTAssertEqual(norm, 6.792476177215576, accuracy: 2e-6)
        assertClose(params[1].grad?.toArray() ?? [],
                    [0.24776557087898254, 0.2885274589061737, 0.29023849964141846, 0.2526671290397644, 0.18089845776557922,
                     0.08464600145816803], tol: 1e-6, "clipped b.grad")
        XCTAssertEqual(gradNorm(params), 1.0, accuracy: 1e-5)
    }

    func testNormBelowMaxLeavesGradientsUnchanged() {
        let params = makeParameters()
        let before = params.map { $0.grad?.toArray() ?? [] }
        let norm = clipGradNorm(params, maxNorm: 100)
        XCTAssertEqual(norm, 6.792476177215576, accuracy: 2e-6)
        XCTAssertEqual(params.map { $0.grad?.toArray() ?? [] }, before)
        // torch's max_norm=100 output for b.grad: the unclipped values.
        assertClose(params[1].grad?.toArray() ?? [],
                    [1.6829419136047363, 1.9598160982131958, 1.9714384078979492, 1.716235637664795, 1.2287485599517822,
                     0.5749559998512268], tol: 0, "b.grad")
    }

    func testParametersWithoutGradientAndTiedParameters() {
        let withGrad = Tensor(zeros: [2], requiresGrad: true)
        withGrad.grad = Tensor(shape: [2], data: [3, 4])
        let noGrad = Tensor(zeros: [5], requiresGrad: true)
        // Listed twice (tied weights): counted and scaled once, as torch's deduplicated parameters().
        let norm = clipGradNorm([withGrad, noGrad, withGrad], maxNorm: 1)
        XCTAssertEqual(norm, 5)
        assertClose(withGrad.grad?.toArray() ?? [], [Float(3 / (5 + 1e-6)), Float(4 / (5 + 1e-6))], tol: 1e-7)
        XCTAssertNil(noGrad.grad)
        XCTAssertEqual(clipGradNorm([], maxNorm: 1), 0)
    }

    func testNonFiniteNormIsReturnedWithoutTouchingGradients() {
        let p = Tensor(zeros: [3], requiresGrad: true)
        p.grad = Tensor(shape: [3], data: [1, .nan, 2])
        XCTAssertTrue(clipGradNorm([p], maxNorm: 1).isNaN)
        XCTAssertEqual(p.grad?.toArray()[2], 2)
        p.grad = Tensor(shape: [3], data: [1, .infinity, 2])
        XCTAssertEqual(clipGradNorm([p], maxNorm: 1), .infinity)
        XCTAssertEqual(p.grad?.toArray()[0], 1)
    }

    /// A large gradient (threaded, SIMD, blockwise Double accumulation) against a plain Double sum.
    func testLargeGradientNormMatchesDoubleSum() {
        let n = 1_000_003
        let values = sinValues(n)
        let p = Tensor(zeros: [n], requiresGrad: true)
        p.grad = Tensor(shape: [n], data: values)
        let expected = values.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        XCTAssertEqual(Double(gradNorm([p])), expected, accuracy: expected * 1e-7)
    }
}
