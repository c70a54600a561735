import Autograd
import Kernels
import Scoring
import XCTest

/// The scorer's own ops: reference values from PyTorch and finite-difference gradients.
final class ScorerOpsTests: XCTestCase {
    func testL2NormalizeMatchesTorch() {
        // torch.nn.functional.normalize(torch.tensor([[3., 4., 0.], [1., -2., 2.], [0., 0., 0.]]), dim=-1)
        //   → [[0.6, 0.8, 0.0], [1/3, -2/3, 2/3], [0, 0, 0]]  (the zero row stays 0: the norm is clamped to eps)
        let x = Tensor(shape: [3, 3], data: [3, 4, 0, 1, -2, 2, 0, 0, 0])
        let expected: [Float] = [0.6, 0.8, 0, 1.0 / 3, -2.0 / 3, 2.0 / 3, 0, 0, 0]
        for (a, b) in zip(l2Normalize(x).toArray(), expected) { XCTAssertEqual(a, b, accuracy: 1e-6) }
    }

    func testL2NormalizeGradient() {
        var rng = RNG(seed: 3)
        let x = Tensor.randn([4, 5], rng: &rng)
        let r = GradientCheck.run([x], epsilon: 1e-3) { l2Normalize($0[0]) }
        XCTAssertLessThan(r.maxError, 1e-2, "\(r)")
    }

    func testGatherRowsPicksOneRowPerSample() {
        // torch: x = torch.arange(24.).reshape(2, 3, 4); x[torch.arange(2), torch.tensor([2, 0])]
        //   → [[8, 9, 10, 11], [12, 13, 14, 15]]
        let x = Tensor(shape: [2, 3, 4], data: (0..<24).map(Float.init))
        XCTAssertEqual(gatherRows(x, indices: [2, 0]).toArray(), [8, 9, 10, 11, 12, 13, 14, 15])
    }

    func testGatherRowsGradient() {
        var rng = RNG(seed: 4)
        let x = Tensor.randn([3, 4, 2], rng: &rng)
        let r = GradientCheck.run([x], epsilon: 1e-2) { gatherRows($0[0], indices: [3, 0, 1]) }
        XCTAssertLessThan(r.maxError, 1e-3, "\(r)")
    }

    func testClampMaxMatchesTorch() {
        // torch.clamp(torch.tensor([-1., 2., 4.6, 7.]), max=4.6) → [-1, 2, 4.6, 4.6]
        let x = Tensor(shape: [4], data: [-1, 2, 4.6, 7])
        XCTAssertEqual(clampMax(x, 4.6).toArray(), [-1, 2, 4.6, 4.6])
    }

    func testClampMaxGradient() {
        // Points away from the kink: the gradient is 1 below the bound and 0 above it.
        let x = Tensor(shape: [4], data: [-1, 2, 5.5, 7])
        let r = GradientCheck.run([x], epsilon: 1e-2) { clampMax($0[0], 4.6) }
        XCTAssertLessThan(r.maxError, 1e-3, "\(r)")
        let y = Tensor(shape: [4], data: [-1, 2, 5.5, 7], requiresGrad: true)
        sum(clampMax(y, 4.6)).backward()
        XCTAssertEqual(y.grad?.toArray(), [1, 1, 0, 0])
    }

    func testLogEnergyMatchesTorch() {
        // torch.log1p(torch.tensor([0., .01, -.05, 1., -3.]) ** 2 / 1e-3)
        //   → [0.0, 0.09531018, 1.25276297, 6.90875478, 9.10509109]
        let y = logEnergy(Tensor(shape: [5], data: [0, 0.01, -0.05, 1, -3]), eps: 1e-3).toArray()
        for (a, b) in zip(y, [0, 0.09531018, 1.25276297, 6.90875478, 9.10509109] as [Float]) { XCTAssertEqual(a, b, accuracy: 4e-6) }
    }

    func testLogEnergyGradient() {
        var rng = RNG(seed: 6)
        let x = Tensor.randn([3, 7], rng: &rng) * 0.1
        let r = GradientCheck.run([x], epsilon: 1e-4) { logEnergy($0[0], eps: 1e-2) }
        XCTAssertLessThan(r.maxError, 1e-2, "\(r)")
    }
}

/// Cross-entropy against target distributions (the caption loss's building block).
final class SoftCrossEntropyTests: XCTestCase {
    func testMatchesTorch() {
        // torch.nn.functional.cross_entropy(torch.tensor([[1., 2., .5], [0., -1., 3.]]),
        //     torch.tensor([[.5, .5, 0.], [0., 0., 1.]]), reduction='none') → [0.96436878, 0.06588390]
        let loss = softCrossEntropy(Tensor(shape: [2, 3], data: [1, 2, 0.5, 0, -1, 3]), targets: [0.5, 0.5, 0, 0, 0, 1])
        XCTAssertEqual(loss.toArray()[0], 0.96436878, accuracy: 1e-6)
        XCTAssertEqual(loss.toArray()[1], 0.06588390, accuracy: 1e-6)
    }

    func testLargeLogitsStayFinite() {
        let loss = softCrossEntropy(Tensor(shape: [1, 2], data: [1000, -1000]), targets: [0, 1])
        XCTAssertEqual(loss.item(), 2000, accuracy: 1e-2)
    }

    func testGradient() {
        var rng = RNG(seed: 8)
        let x = Tensor.randn([3, 4], rng: &rng)
        let t: [Float] = [0.25, 0.25, 0.5, 0, 0, 1, 0, 0, 0.1, 0.2, 0.3, 0.4]
        let r = GradientCheck.run([x], epsilon: 1e-2) { softCrossEntropy($0[0], targets: t) }
        XCTAssertLessThan(r.maxError, 1e-3, "\(r)")
    }
}
