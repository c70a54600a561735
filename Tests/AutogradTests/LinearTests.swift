import XCTest
import Autograd
import Kernels

final class LinearTests: XCTestCase {
    func testMatmulReferenceValues() {
        // torch: pat([3,4], 7, 1) @ pat([4,5], 11, 3)   (pat as in TorchPattern)
        let a = TorchPattern.make([3, 4], mul: 7, add: 1), b = TorchPattern.make([4, 5], mul: 11, add: 3)
        let c = matmul(a, b)
        XCTAssertEqual(c.shape, [3, 5])
        TorchPattern.assertClose(c.toArray(), [0.546875, -1.03125, 1.109375, 0.59375, -0.984375, 0.703125, 1.109375,
                                               -0.875, 0.59375, 1.0, 0.0625, -0.46875, -0.46875, 0.0625, -0.46875])
        // pat([2,3,4], 7, 2) @ pat([2,4,2], 5, 1)
        let a3 = TorchPattern.make([2, 3, 4], mul: 7, add: 2)
        let c3 = matmul(a3, TorchPattern.make([2, 4, 2], mul: 5, add: 1))
        XCTAssertEqual(c3.shape, [2, 3, 2])
        TorchPattern.assertClose(c3.toArray(), [0.015625, 0.625, -1.65625, 0.0, 0.921875, 0.4375, 0.5625, 0.328125,
                                                0.09375, 0.640625, -0.90625, -0.90625])
        // pat([2,3,4], 7, 2) @ pat([4,5], 11, 3)
        let c32 = matmul(a3, b)
        XCTAssertEqual(c32.shape, [2, 3, 5])
        TorchPattern.assertClose(c32.toArray(), [0.609375, -1.078125, 1.21875, 0.59375, -1.09375, -1.09375, 0.796875,
                                                 0.5625, -1.0, 0.890625, 0.125, -0.515625, -0.359375, 0.0625, -0.578125,
                                                 0.546875, -1.03125, 1.109375, 0.59375, -0.984375, 0.703125, 1.109375,
                                                 -0.875, 0.59375, 1.0, 0.0625, -0.46875, -0.46875, 0.0625, -0.46875])
    }

    func testLinearReferenceValues() {
        // torch: F.linear(pat([2,3,4], 3, 1), pat([5,4], 5, 2), pat([5], 7, 3))
        let x = TorchPattern.make([2, 3, 4], mul: 3, add: 1), w = TorchPattern.make([5, 4], mul: 5, add: 2)
        let y = linear(x, weight: w, bias: TorchPattern.make([5], mul: 7, add: 3))
        XCTAssertEqual(y.shape, [2, 3, 5])
        TorchPattern.assertClose(y.toArray(), [-0.21875, 0.1875, -1.265625, -0.859375, 0.609375, -1.21875, -0.15625,
                                               0.375, 1.4375, 0.375, 0.703125, 1.625, -1.171875, -0.25, -0.125, -0.5625,
                                               0.21875, -1.390625, -0.609375, 0.703125, -1.296875, -0.65625, -1.078125,
                                               -0.4375, 2.0625, 0.359375, 1.65625, -1.296875, 0.0, -0.03125])
        // F.linear(pat([2,3,4], 3, 1)[0], pat([5,4], 5, 2))
        let y0 = linear(TorchPattern.make([3, 4], mul: 3, add: 1), weight: w)
        TorchPattern.assertClose(y0.toArray(), [0.40625, -0.0625, -0.265625, -0.734375, -0.140625, -0.59375, -0.40625,
                                                1.375, 1.5625, -0.375, 1.328125, 1.375, -0.171875, -0.125, -0.875])
    }

    func testMatmulGradients() {
        var rng = RNG(seed: 12)
        let cases: [([Int], [Int])] = [([3, 4], [4, 5]), ([2, 3, 4], [2, 4, 5]), ([2, 3, 4], [4, 2])]
        for (sa, sb) in cases {
            let a = Tensor.randn(sa, rng: &rng), b = Tensor.randn(sb, rng: &rng)
            let r = GradientCheck.run([a, b]) { matmul($0[0], $0[1]) }
            XCTAssertLessThan(r.maxError, 1e-2, "\(sa) × \(sb): \(r)")
        }
    }

    func testLinearGradients() {
        var rng = RNG(seed: 13)
        let x = Tensor.randn([2, 3, 4], rng: &rng), w = Tensor.randn([5, 4], rng: &rng), b = Tensor.randn([5], rng: &rng)
        let r = GradientCheck.run([x, w, b]) { linear($0[0], weight: $0[1], bias: $0[2]) }
        XCTAssertLessThan(r.maxError, 1e-2, "\(r)")
        let r2 = GradientCheck.run([x, w]) { linear($0[0], weight: $0[1]) }
        XCTAssertLessThan(r2.maxError, 1e-2, "no bias: \(r2)")
    }

    /// Batched products on both scheduling paths (whole products per core; a lone product split over the
    /// cores) agree with one 2-D product per batch item.
    func testBatchedPathsAgreeWithSingleProducts() {
        var rng = RNG(seed: 14)
        for (batch, m, k, n) in [(16, 64, 32, 64), (1, 256, 128, 96)] {
            let a = Tensor.randn([batch, m, k], rng: &rng), b = Tensor.randn([batch, k, n], rng: &rng)
            let c = matmul(a, b).toArray()
            for i in [0, batch - 1] {
                let ai = Tensor(shape: [m, k], data: Array(a.toArray()[(i * m * k)..<((i + 1) * m * k)]))
                let bi = Tensor(shape: [k, n], data: Array(b.toArray()[(i * k * n)..<((i + 1) * k * n)]))
                let ci = matmul(ai, bi).toArray()
                for j in 0..<ci.count { XCTAssertEqual(c[i * m * n + j], ci[j], accuracy: 1e-4) }
            }
        }
    }
    /// Products above the split threshold are cut into per-core blocks of rows (tall C) or columns (wide C);
    /// forward and both gradients (which use the transposed layouts) must match the definition.
    func testSplitProductsMatchDefinition() {
        var rng = RNG(seed: 15)
        for (m, k, n) in [(301, 200, 50), (20, 300, 701), (3, 5000, 40)] {
            let a = Tensor.randn([m, k], rng: &rng), b = Tensor.randn([k, n], rng: &rng)
            a.requiresGrad = true; b.requiresGrad = true
            let c = matmul(a, b)
            let g = Tensor.randn([m, n], rng: &rng)
            c.backward(g)
            let av = a.toArray(), bv = b.toArray(), cv = c.toArray(), gv = g.toArray()
            let da = a.grad!.toArray(), db = b.grad!.toArray()
            for (i, j) in [(0, 0), (m - 1, n - 1), (m / 2, n / 3), (m - 1, 0), (0, n - 1)] {
                var e = 0.0
                for t in 0..<k { e += Double(av[i * k + t]) * Double(bv[t * n + j]) }
                XCTAssertEqual(Double(cv[i * n + j]), e, accuracy: 1e-3 * max(1, abs(e)), "C[\(i),\(j)] of \(m)×\(k)×\(n)")
            }
            for (i, t) in [(0, 0), (m - 1, k - 1), (m / 2, k / 2)] {  // dA = G·Bᵀ
                var e = 0.0
                for j in 0..<n { e += Double(gv[i * n + j]) * Double(bv[t * n + j]) }
                XCTAssertEqual(Double(da[i * k + t]), e, accuracy: 1e-3 * max(1, abs(e)), "dA[\(i),\(t)]")
            }
            for (t, j) in [(0, 0), (k - 1, n - 1), (k / 2, n / 2)] {  // dB = Aᵀ·G
                var e = 0.0
                for i in 0..<m { e += Double(av[i * k + t]) * Double(gv[i * n + j]) }
                XCTAssertEqual(Double(db[t * n + j]), e, accuracy: 1e-3 * max(1, abs(e)), "dB[\(t),\(j)]")
            }
        }
    }
}
