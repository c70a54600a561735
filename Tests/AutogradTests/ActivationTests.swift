import XCTest
import Autograd
import Kernels

final class ActivationTests: XCTestCase {
    func testSiLUReferenceValues() {
        // torch.nn.functional.silu(torch.tensor([-2., -0.5, 0., 1., 3.]))
        let x = Tensor(shape: [5], data: [-2, -0.5, 0, 1, 3])
        let y = silu(x).toArray()
        let expected: [Float] = [-0.238406, -0.188770, 0, 0.731059, 2.857722]
        for (a, b) in zip(y, expected) { XCTAssertEqual(a, b, accuracy: 1e-5) }
    }

    func testSiLUGradient() {
        var rng = RNG(seed: 1)
        let x = Tensor.randn([3, 7], rng: &rng)
        let r = GradientCheck.run([x]) { silu($0[0]) }
        XCTAssertLessThan(r.maxError, 1e-2, "\(r)")
    }

    func testNoGraphWithoutGrad() {
        let x = Tensor(shape: [2], data: [1, 2], requiresGrad: true)
        let y = GradMode.withoutGrad { silu(x) }
        XCTAssertFalse(y.requiresGrad)
        XCTAssertTrue(silu(x).requiresGrad)
    }
}
