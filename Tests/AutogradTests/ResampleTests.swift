import XCTest
import Autograd
import Kernels

final class ResampleTests: XCTestCase {
    func testUpsampleReferenceValues() {
        // torch: u = pat([1,2,2,3]).requires_grad_(); o = F.interpolate(u, scale_factor=2, mode="nearest")
        //        (o * pat(o.shape, 3, 1)).sum().backward(); o, u.grad      (pat as in TorchPattern)
        let u = TorchPattern.make([1, 2, 2, 3])
        u.requiresGrad = true
        let o = upsampleNearest2x(u)
        XCTAssertEqual(o.shape, [1, 2, 4, 6])
        TorchPattern.assertClose(o.toArray(), [
            -1.0, -1.0, -0.625, -0.625, -0.25, -0.25, -1.0, -1.0, -0.625, -0.625, -0.25, -0.25, 0.125, 0.125, 0.5, 0.5,
            0.875, 0.875, 0.125, 0.125, 0.5, 0.5, 0.875, 0.875, -0.875, -0.875, -0.5, -0.5, -0.125, -0.125, -0.875,
            -0.875, -0.5, -0.5, -0.125, -0.125, 0.25, 0.25, 0.625, 0.625, 1.0, 1.0, 0.25, 0.25, 0.625, 0.625, 1.0, 1.0])
        o.backward(TorchPattern.make(o.shape, mul: 3, add: 1))
        TorchPattern.assertClose(u.grad!.toArray(), [-2.5, 0.5, 1.375, -1.5, 1.5, 0.25, -0.5, 2.5, -3.0, 0.5, 1.375, -2.0])
    }

    func testUpsampleGradient() {
        var rng = RNG(seed: 31)
        let x = Tensor.randn([2, 3, 3, 4], rng: &rng)
        let r = GradientCheck.run([x]) { upsampleNearest2x($0[0]) }
        XCTAssertLessThan(r.maxError, 1e-2, "\(r)")
    }

    /// A U-Net-sized input (multi-threaded path): every output equals its source pixel, and the backward
    /// of a gradient of ones is 4 everywhere.
    func testUpsampleLarge() {
        var rng = RNG(seed: 32)
        let x = Tensor.randn([16, 64, 8, 8], rng: &rng)
        x.requiresGrad = true
        let o = upsampleNearest2x(x)
        let xs = x.toArray(), os = o.toArray()
        for i in stride(from: 0, to: os.count, by: 13) {
            let p = i / 256, r = (i % 256) / 16, c = i % 16
            XCTAssertEqual(os[i], xs[p * 64 + (r / 2) * 8 + c / 2])
        }
        o.backward(Tensor.full(o.shape, 1))
        XCTAssertTrue(x.grad!.toArray().allSatisfy { $0 == 4 })
    }
}
