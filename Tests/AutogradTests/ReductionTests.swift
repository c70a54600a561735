import XCTest
import Autograd
import Kernels

final class ReductionTests: XCTestCase {
    // torch: x = pat([2,3,4], 13, 5) (TorchPattern)
    let x = TorchPattern.make([2, 3, 4], mul: 13, add: 5)

    func testReferenceValues() {
        // x.sum(), x.mean()
        XCTAssertEqual(sum(x).item(), -0.375, accuracy: 1e-6)
        XCTAssertEqual(sum(x).shape, [])
        XCTAssertEqual(mean(x).item(), -0.015625, accuracy: 1e-6)
        // x.mean(dim=(1, 2))
        TorchPattern.assertClose(meanPerSample(x).toArray(), [0.0625, -0.09375])
        // x.sum(dim=1)
        let s1 = sum(x, axis: 1)
        XCTAssertEqual(s1.shape, [2, 4])
        TorchPattern.assertClose(s1.toArray(), [-0.75, -2.25, 2.625, 1.125, 0.375, -1.125, -2.625, 2.25])
        // x.sum(dim=-1, keepdim=True)
        let s2 = sum(x, axis: -1, keepDim: true)
        XCTAssertEqual(s2.shape, [2, 3, 1])
        TorchPattern.assertClose(s2.toArray(), [-0.25, 0.25, 0.75, -0.875, -0.375, 0.125])
        // x.mean(dim=0)
        let m0 = mean(x, axis: 0)
        XCTAssertEqual(m0.shape, [3, 4])
        TorchPattern.assertClose(m0.toArray(), [-0.1875, -0.6875, -0.125, 0.4375, -0.0625, -0.5625, 0.0, 0.5625, 0.0625,
                                                -0.4375, 0.125, 0.6875])
    }

    func testGradients() {
        var rng = RNG(seed: 8)
        let t = Tensor.randn([2, 3, 5], rng: &rng)
        let fs: [(String, (Tensor) -> Tensor)] = [
            ("sum", { sum($0) }), ("mean", { mean($0) }), ("meanPerSample", { meanPerSample($0) }),
            ("sum0", { sum($0, axis: 0) }), ("sum1", { sum($0, axis: 1) }), ("sum2keep", { sum($0, axis: 2, keepDim: true) }),
            ("mean1", { mean($0, axis: -2) }),
        ]
        for (name, f) in fs {
            let r = GradientCheck.run([t]) { f($0[0]) }
            XCTAssertLessThan(r.maxError, 1e-2, "\(name): \(r)")
        }
    }

    /// Long sums (SIMD lanes folded into a Double per block, split over threads) keep Float accuracy.
    func testLargeSumsMatchDouble() {
        var rng = RNG(seed: 9)
        let big = Tensor.rand([16, 3, 64, 65], rng: &rng, low: 0, high: 1)  // 199,680 values, odd tail
        let values = big.toArray()
        let exact = values.reduce(0.0) { $0 + Double($1) }
        XCTAssertEqual(Double(sum(big).item()), exact, accuracy: abs(exact) * 1e-6)
        XCTAssertEqual(Double(mean(big).item()), exact / Double(values.count), accuracy: 1e-6)
        let per = values.count / 16
        let perSample = meanPerSample(big).toArray()
        for n in 0..<16 {
            let e = values[(n * per)..<((n + 1) * per)].reduce(0.0) { $0 + Double($1) } / Double(per)
            XCTAssertEqual(Double(perSample[n]), e, accuracy: 1e-6)
        }
        // A middle axis over a large tensor (the row-add path).
        let s = sum(big, axis: 1).toArray()
        for i in stride(from: 0, to: s.count, by: 997) {
            let n = i / (64 * 65), hw = i % (64 * 65)
            let e = (0..<3).reduce(0.0) { $0 + Double(values[(n * 3 + $1) * 64 * 65 + hw]) }
            XCTAssertEqual(Double(s[i]), e, accuracy: 1e-5)
        }
    }
}
