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
}
