import XCTest
import Autograd
import Kernels

final class LayoutTests: XCTestCase {
    func testPermuteReferenceValues() {
        // torch: t = pat([2,3,4], 7, 1); t.permute(0,2,1), t.permute(1,2,0)   (pat as in TorchPattern)
        let t = TorchPattern.make([2, 3, 4], mul: 7, add: 1)
        let p021 = t.permuted([0, 2, 1])
        XCTAssertEqual(p021.shape, [2, 4, 3])
        TorchPattern.assertClose(p021.toArray(), [-0.875, 0.5, -0.25, 0.0, -0.75, 0.625, 0.875, 0.125, -0.625, -0.375,
                                                  1.0, 0.25, -1.0, 0.375, -0.375, -0.125, -0.875, 0.5, 0.75, 0.0, -0.75,
                                                  -0.5, 0.875, 0.125])
        let p120 = t.permuted([1, 2, 0])
        XCTAssertEqual(p120.shape, [3, 4, 2])
        TorchPattern.assertClose(p120.toArray(), [-0.875, -1.0, 0.0, -0.125, 0.875, 0.75, -0.375, -0.5, 0.5, 0.375,
                                                  -0.75, -0.875, 0.125, 0.0, 1.0, 0.875, -0.25, -0.375, 0.625, 0.5,
                                                  -0.625, -0.75, 0.25, 0.125])
        // pat([2,3,2,2], 7, 1).permute(0,2,3,1)  (NCHW → NHWC)
        let p0231 = TorchPattern.make([2, 3, 2, 2], mul: 7, add: 1).permuted([0, 2, 3, 1])
        XCTAssertEqual(p0231.shape, [2, 2, 2, 3])
        TorchPattern.assertClose(p0231.toArray(), [-0.875, 0.5, -0.25, 0.0, -0.75, 0.625, 0.875, 0.125, -0.625, -0.375,
                                                   1.0, 0.25, -1.0, 0.375, -0.375, -0.125, -0.875, 0.5, 0.75, 0.0,
                                                   -0.75, -0.5, 0.875, 0.125])
    }

    /// Large permutations (the tiled transpose and the row-copy paths) against index arithmetic, and back.
    func testPermuteLargeRoundTrip() {
        var rng = RNG(seed: 41)
        let x = Tensor.randn([4, 64, 17, 33], rng: &rng)
        let xs = x.toArray()
        for order in [[0, 2, 3, 1], [0, 3, 1, 2], [1, 0, 2, 3], [3, 2, 1, 0], [0, 1, 3, 2]] {
            let y = x.permuted(order)
            let ys = y.toArray()
            let inStrides = [64 * 17 * 33, 17 * 33, 33, 1]
            for i in stride(from: 0, to: ys.count, by: 101) {
                var rem = i, src = 0
                for d in stride(from: 3, through: 0, by: -1) {
                    src += (rem % y.shape[d]) * inStrides[order[d]]; rem /= y.shape[d]
                }
                XCTAssertEqual(ys[i], xs[src], "order \(order) at \(i)")
            }
            var inverse = [0, 0, 0, 0]
            for (i, d) in order.enumerated() { inverse[d] = i }
            XCTAssertEqual(y.permuted(inverse).toArray(), xs, "order \(order) round trip")
        }
    }

    func testConcatSplitChunkValues() {
        let a = TorchPattern.make([2, 2, 3]), b = TorchPattern.make([2, 1, 3], mul: 5)
        // Along channels: torch.cat([a, b], dim=1)[n] is a[n] followed by b[n].
        let c = concat([a, b], axis: 1)
        XCTAssertEqual(c.shape, [2, 3, 3])
        let cs = c.toArray(), av = a.toArray(), bv = b.toArray()
        XCTAssertEqual(Array(cs[0..<6]), Array(av[0..<6]))
        XCTAssertEqual(Array(cs[6..<9]), Array(bv[0..<3]))
        XCTAssertEqual(Array(cs[9..<15]), Array(av[6..<12]))
        XCTAssertEqual(Array(cs[15..<18]), Array(bv[3..<6]))
        // Along the batch and the last axis.
        XCTAssertEqual(concat([a, a], axis: 0).toArray(), av + av)
        let last = concat([a, TorchPattern.make([2, 2, 1], mul: 3)], axis: -1)
        XCTAssertEqual(last.shape, [2, 2, 4])
        XCTAssertEqual(Array(last.toArray()[0..<4]), Array(av[0..<3]) + [TorchPattern.make([1], mul: 3).toArray()[0]])
        // split inverts concat; chunk cuts equal parts.
        let parts = split(c, sizes: [2, 1], axis: 1)
        XCTAssertEqual(parts.map(\.shape), [[2, 2, 3], [2, 1, 3]])
        XCTAssertEqual(parts[0].toArray(), av)
        XCTAssertEqual(parts[1].toArray(), bv)
        let halves = chunk(concat([a, a], axis: 0), 2, axis: 0)
        XCTAssertEqual(halves.map { $0.toArray() }, [av, av])
        let cols = chunk(TorchPattern.make([2, 4]), 2, axis: 1)
        XCTAssertEqual(cols[1].toArray(), [TorchPattern.make([8]).toArray()[2], TorchPattern.make([8]).toArray()[3],
                                           TorchPattern.make([8]).toArray()[6], TorchPattern.make([8]).toArray()[7]])
    }

    func testGradients() {
        var rng = RNG(seed: 42)
        let x = Tensor.randn([2, 3, 2, 4], rng: &rng), y = Tensor.randn([2, 2, 2, 4], rng: &rng)
        for order in [[0, 2, 3, 1], [0, 2, 1, 3], [3, 1, 0, 2]] {
            let r = GradientCheck.run([x]) { $0[0].permuted(order) }
            XCTAssertLessThan(r.maxError, 1e-2, "permute \(order): \(r)")
        }
        let rc = GradientCheck.run([x, y]) { concat([$0[0], $0[1]], axis: 1) }
        XCTAssertLessThan(rc.maxError, 1e-2, "concat: \(rc)")
        let z = Tensor.randn([2, 3, 2, 4], rng: &rng)
        let r0 = GradientCheck.run([x, z]) { concat([$0[0], $0[1]], axis: 0) }
        XCTAssertLessThan(r0.maxError, 1e-2, "concat axis 0: \(r0)")
        // Each part of a split feeds a different downstream op; both gradients must land in x.
        let rs = GradientCheck.run([x]) { t in
            let p = split(t[0], sizes: [1, 2], axis: 1)
            return concat([p[1] * 2, p[0] * -3], axis: 1)
        }
        XCTAssertLessThan(rs.maxError, 1e-2, "split: \(rs)")
        let rk = GradientCheck.run([x]) { t in
            let p = chunk(t[0], 2, axis: -1)
            return p[0] * p[1]
        }
        XCTAssertLessThan(rk.maxError, 1e-2, "chunk: \(rk)")
    }
}
