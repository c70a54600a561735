import XCTest
import Autograd
import Kernels

final class LossTests: XCTestCase {
    func testMSEPerSampleReferenceValues() {
        // numpy: ((p - 1) ** 2).mean(axis=(1, 2)) with p = arange(12).reshape(2, 2, 3) / 4
        let p = Tensor(shape: [2, 2, 3], data: (0..<12).map { Float($0) / 4 })
        let t = Tensor.full([2, 2, 3], 1)
        let l = mseLossPerSample(prediction: p, target: t).toArray()
        XCTAssertEqual(l[0], 0.32291667, accuracy: 1e-6)
        XCTAssertEqual(l[1], 1.44791667, accuracy: 1e-6)
    }

    func testMSEPerSampleGradient() {
        var rng = RNG(seed: 11)
        let p = Tensor.randn([3, 37], rng: &rng)   // 37: exercises the SIMD body and the scalar tail
        let t = Tensor.randn([3, 37], rng: &rng)
        let r = GradientCheck.run([p]) { mseLossPerSample(prediction: $0[0], target: t) }
        XCTAssertLessThan(r.maxError, 1e-2, "\(r)")
    }

    func testBackwardStillReadsATargetItsCallerHasDropped() {
        // The trainers compute the target, take the loss and let the target go before backward. A backward
        // that kept only the target's pointer read whatever reused its buffer (found by a probe of MaPO's
        // gradient: garbage up to 1e33). 65,536 floats per row: large enough for BufferPool's arenas, whose
        // freed blocks the poison below takes.
        var rng = RNG(seed: 5)
        let count = 2 * 65_536
        let prediction = Tensor.randn([2, 65_536], rng: &rng)
        prediction.requiresGrad = true
        var expected: [Float] = []
        let loss: Tensor = {
            let target = Tensor.randn([2, 65_536], rng: &rng)
            expected = (0..<count).map { 2 * (prediction.data[$0] - target.data[$0]) / 65_536 }
            return mseLossPerSample(prediction: prediction, target: target)
        }()
        let poison = (0..<4).map { _ in Tensor.full([2, 65_536], 1e30) }
        sum(loss).backward()
        withExtendedLifetime(poison) {}
        guard let grad = prediction.grad?.toArray() else { return XCTFail("no gradient") }
        var worst: Float = 0
        for i in 0..<count { worst = max(worst, abs(grad[i] - expected[i])) }
        XCTAssertLessThan(worst, 1e-9, "the backward read a freed target")
    }
}
