import XCTest
import Autograd
import Kernels

/// Activation checkpointing: the same values and gradients as the plain graph, less memory kept.
final class RecomputeInBackwardTests: XCTestCase {
    /// A small chain with two parameter tensors: linear → gelu → linear → square.
    private func chain(_ x: Tensor, _ w1: Tensor, _ w2: Tensor) -> Tensor {
        let h = gelu(linear(x, weight: w1))
        let y = linear(h, weight: w2)
        return y * y
    }

    func testSameValuesAndGradientsAsThePlainGraph() throws {
        var rng = RNG(seed: 61)
        let x = Tensor.randn([5, 7], rng: &rng), w1 = Tensor.randn([9, 7], rng: &rng)
        let w2 = Tensor.randn([4, 9], rng: &rng), g = Tensor.randn([5, 4], rng: &rng)
        func run(recompute: Bool, inputNeedsGrad: Bool) throws -> [[Float]] {
            let (xi, a, b) = (x.copy(), w1.copy(), w2.copy())
            xi.requiresGrad = inputNeedsGrad
            a.requiresGrad = true
            b.requiresGrad = true
            let y = recompute
                ? recomputingInBackward([xi], parameters: [a, b]) { self.chain($0[0], a, b) }
                : chain(xi, a, b)
            y.backward(g)
            var out = [y.toArray(), try XCTUnwrap(a.grad).toArray(), try XCTUnwrap(b.grad).toArray()]
            if inputNeedsGrad { out.append(try XCTUnwrap(xi.grad).toArray()) }
            return out
        }
        // With and without a gradient for the input: the parameters must get theirs either way.
        for inputNeedsGrad in [true, false] {
            let plain = try run(recompute: false, inputNeedsGrad: inputNeedsGrad)
            let recomputed = try run(recompute: true, inputNeedsGrad: inputNeedsGrad)
            XCTAssertEqual(plain.count, recomputed.count)
            for (p, r) in zip(plain, recomputed) { XCTAssertEqual(p, r, "input needs grad: \(inputNeedsGrad)") }
        }
    }

    func testFiniteDifferenceGradient() {
        var rng = RNG(seed: 62)
        let x = Tensor.randn([3, 4], rng: &rng), w1 = Tensor.randn([5, 4], rng: &rng), w2 = Tensor.randn([2, 5], rng: &rng)
        let r = GradientCheck.run([x, w1, w2]) { t in
            recomputingInBackward([t[0]], parameters: [t[1], t[2]]) { self.chain($0[0], t[1], t[2]) }
        }
        XCTAssertLessThan(r.maxError, 1e-2, "\(r)")
    }

    /// The chain's intermediates are not kept until backward. (The plain graph keeps gelu's [256, 512] input
    /// and y; gelu's output is rebuilt from its input by the second linear layer, `SavedInput`.)
    func testKeepsOnlyInputsAndOutput() {
        var rng = RNG(seed: 63)
        let x = Tensor.randn([256, 64], rng: &rng), w1 = Tensor.randn([512, 64], rng: &rng, std: 0.1)
        let w2 = Tensor.randn([64, 512], rng: &rng, std: 0.1)
        for t in [x, w1, w2] { t.requiresGrad = true }
        func heldAfterForward(recompute: Bool) -> Int {
            let before = Storage.liveBytes
            let y = recompute ? recomputingInBackward([x], parameters: [w1, w2]) { self.chain($0[0], w1, w2) }
                              : chain(x, w1, w2)
            let held = Storage.liveBytes - before
            withExtendedLifetime(y) {}
            return held
        }
        let plain = heldAfterForward(recompute: false), recomputed = heldAfterForward(recompute: true)
        XCTAssertEqual(recomputed, 256 * 64 * 4, "only the output is new")
        XCTAssertEqual(plain, (256 * 512 + 256 * 64) * 4 + recomputed)
    }

    func testInferenceIsThePlainCall() {
        var rng = RNG(seed: 64)
        let x = Tensor.randn([2, 3], rng: &rng), w = Tensor.randn([4, 3], rng: &rng)
        w.requiresGrad = true
        let y = GradMode.withoutGrad { recomputingInBackward([x], parameters: [w]) { linear($0[0], weight: w) } }
        XCTAssertFalse(y.requiresGrad)
        XCTAssertEqual(y.toArray(), GradMode.withoutGrad { linear(x, weight: w) }.toArray())
    }
}
