import XCTest
import Autograd
import Kernels

/// Deterministic test inputs that PyTorch can rebuild exactly (all values are multiples of 1/8):
/// `pat(shape, mul, add, mod) = (((torch.arange(n) * mul + add) % mod - mod // 2) / 8).reshape(shape)`.
enum TorchPattern {
    static func make(_ shape: [Int], mul: Int = 37, add: Int = 0, mod: Int = 17) -> Tensor {
        let n = shape.reduce(1, *)
        return Tensor(shape: shape, data: (0..<n).map { Float((($0 * mul + add) % mod) - mod / 2) / 8 })
    }

    /// Compares `actual[i · stride]` with `expected[i]` for every expected value.
    static func assertClose(_ actual: [Float], _ expected: [Float], stride: Int = 1, accuracy: Float = 1e-5,
                            _ what: String = "", file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual((actual.count + stride - 1) / stride, expected.count, "\(what): element count", file: file, line: line)
        for (i, e) in expected.enumerated() where i * stride < actual.count {
            XCTAssertEqual(actual[i * stride], e, accuracy: accuracy, "\(what)[\(i * stride)]", file: file, line: line)
        }
    }
}

final class ElementwiseTests: XCTestCase {
    let a = TorchPattern.make([2, 3, 2, 2])

    func testBroadcastReferenceValues() {
        // torch, with pat() as in TorchPattern: a = pat([2,3,2,2]); b = pat([2,3,1,1], 5, 3); a + b
        TorchPattern.assertClose((a + TorchPattern.make([2, 3, 1, 1], mul: 5, add: 3)).toArray(),
            [-1.625, -1.25, -0.875, -0.5, 0.5, 0.875, -0.875, -0.5, 0.5, 0.875, 1.25, 1.625, -1.625, -1.25, -0.875,
             -0.5, 0.5, -1.25, -0.875, -0.5, 0.5, 0.875, 1.25, -0.5], "add [N,C,1,1]")
        // a * pat([2], 7, 1)  (bias-like operand on the last dimension)
        TorchPattern.assertClose((a * TorchPattern.make([2], mul: 7, add: 1)).toArray(),
            [0.875, 0, 0.21875, 0, -0.4375, 0, 0.765625, 0, 0.109375, 0, -0.546875, 0, 0.65625, 0, 0, 0, -0.65625, 0,
             0.546875, 0, -0.109375, 0, -0.765625, 0], "mul [D]")
        // a - pat([1,3,2,2], 11, 2)
        TorchPattern.assertClose((a - TorchPattern.make([1, 3, 2, 2], mul: 11, add: 2)).toArray(),
            [-0.25, -1.25, -0.125, 1.0, 0.0, 1.125, 0.125, -0.875, 0.25, -0.75, 0.375, 1.5, 0.0, -1.0, 0.125, 1.25, 0.25,
             -0.75, 0.375, -0.625, 0.5, -0.5, 0.625, -0.375], "sub [1,…]")
        // a / (pat([2,3,1,1], 5, 3) + 2.5)
        TorchPattern.assertClose((a / (TorchPattern.make([2, 3, 1, 1], mul: 5, add: 3) + 2.5)).toArray(),
            [-0.533333, -0.333333, -0.133333, 0.066667, 0.2, 0.35, -0.35, -0.2, -0.04, 0.08, 0.2, 0.32, -0.461538,
             -0.230769, 0.0, 0.230769, 0.333333, -0.444444, -0.277778, -0.111111, 0.043478, 0.173913, 0.304348,
             -0.304348], "div [N,C,1,1]")
        // pat([3,1], 3, 1) * pat([1,4], 5, 2)  (both operands broadcast)
        TorchPattern.assertClose((TorchPattern.make([3, 1], mul: 3, add: 1) * TorchPattern.make([1, 4], mul: 5, add: 2)).toArray(),
            [0.65625, 0.109375, -0.4375, 0.875, 0.375, 0.0625, -0.25, 0.5, 0.09375, 0.015625, -0.0625, 0.125], "outer")
    }

    func testScalarReferenceValues() {
        let row = TorchPattern.make([4])  // = a[0, 0].flatten()
        // 2.5 - a[0,0]
        TorchPattern.assertClose((2.5 - row).toArray(), [3.5, 3.125, 2.75, 2.375])
        // 3 / (a[0,0] + 2)
        TorchPattern.assertClose((3 / (row + 2)).toArray(), [3.0, 2.181818, 1.714286, 1.411765])
        XCTAssertEqual((row * 2 - 1).toArray(), row.toArray().map { $0 * 2 - 1 })
        XCTAssertEqual((row / 4).toArray(), row.toArray().map { $0 / 4 })
        XCTAssertEqual((-row).toArray(), row.toArray().map { -$0 })
    }

    /// Every broadcast layout, large enough for the multi-threaded paths (≥ 2¹⁷ values), against direct index arithmetic.
    func testBroadcastMatchesNaiveOnLargeShapes() {
        var rng = RNG(seed: 3)
        let cases: [([Int], [Int])] = [
            ([8, 32, 32, 16], [8, 32, 1, 1]), ([2048, 64], [64]), ([8, 256, 64], [1, 256, 64]),
            ([300, 1], [1, 500]), ([4, 1, 32, 1], [1, 16, 1, 64]), ([8, 32, 1, 1], [8, 32, 32, 16]),
        ]
        for (sa, sb) in cases {
            let x = Tensor.randn(sa, rng: &rng), y = Tensor.rand(sb, rng: &rng, low: 0.5, high: 2)
            let outShape = BroadcastPlan.broadcastShape(sa, sb)!
            let expected = naiveBroadcast(x, y, outShape)
            let got = [(x + y).toArray(), (x - y).toArray(), (x * y).toArray(), (x / y).toArray()]
            for (k, e) in expected.enumerated() {
                XCTAssertEqual(got[k].count, e.count)
                var maxErr: Float = 0
                for i in 0..<e.count { maxErr = max(maxErr, abs(got[k][i] - e[i])) }
                XCTAssertLessThan(maxErr, 1e-5, "\(sa) ⊕ \(sb), op \(k)")
            }
            // The gradient of a broadcast operand is the sum over its broadcast dimensions.
            y.requiresGrad = true
            sum(x * y).backward()
            let gy = y.grad!.toArray()
            let yOnes = Tensor.full(sb, 1)
            let expectedGrad = reduceNaive(naiveBroadcast(x, yOnes, outShape)[2], from: outShape, to: sb)
            var maxErr: Float = 0
            for i in 0..<gy.count { maxErr = max(maxErr, abs(gy[i] - expectedGrad[i]) / max(1, abs(expectedGrad[i]))) }
            XCTAssertLessThan(maxErr, 1e-4, "grad of \(sb) in \(sa) ⊕ \(sb)")
        }
    }

    func testGradients() {
        var rng = RNG(seed: 5)
        let pairs: [([Int], [Int])] = [([2, 3, 2, 2], [2, 3, 1, 1]), ([4, 5], [5]), ([2, 3, 4], [1, 3, 4]),
                                       ([3, 1], [1, 4]), ([2, 3], [2, 3])]
        for (sa, sb) in pairs {
            let x = Tensor.randn(sa, rng: &rng)
            let y = Tensor.rand(sb, rng: &rng, low: 0.8, high: 1.6)  // away from 0 for the division
            for (name, f) in [("+", { (p: Tensor, q: Tensor) in p + q }), ("-", { $0 - $1 }), ("*", { $0 * $1 }),
                              ("/", { $0 / $1 })] {
                let r = GradientCheck.run([x, y]) { f($0[0], $0[1]) }
                XCTAssertLessThan(r.maxError, 1e-2, "\(sa) \(name) \(sb): \(r)")
                // Swapped, the denominator must stay away from 0 as well (finite differences diverge there).
                let xd = name == "/" ? Tensor.rand(sa, rng: &rng, low: -1.6, high: -0.8) : x
                let rSwapped = GradientCheck.run([y, xd]) { f($0[0], $0[1]) }
                XCTAssertLessThan(rSwapped.maxError, 1e-2, "\(sb) \(name) \(sa): \(rSwapped)")
            }
        }
    }

    func testScalarGradients() {
        var rng = RNG(seed: 6)
        let x = Tensor.rand([3, 5], rng: &rng, low: 0.5, high: 2)
        let fs: [(String, (Tensor) -> Tensor)] = [
            ("x+s", { $0 + 1.5 }), ("s+x", { 1.5 + $0 }), ("x-s", { $0 - 1.5 }), ("s-x", { 1.5 - $0 }),
            ("x*s", { $0 * -2 }), ("s*x", { -2 * $0 }), ("x/s", { $0 / 3 }), ("s/x", { 3 / $0 }), ("neg", { neg($0) }),
        ]
        for (name, f) in fs {
            let r = GradientCheck.run([x]) { f($0[0]) }
            XCTAssertLessThan(r.maxError, 1e-2, "\(name): \(r)")
        }
    }

    func testSameTensorOnBothSides() {
        // x * x: both gradient contributions reach the same leaf: d/dx Σ x² = 2x.
        let x = Tensor(shape: [3], data: [1, -2, 0.5], requiresGrad: true)
        sum(x * x).backward()
        XCTAssertEqual(x.grad?.toArray(), [2, -4, 1])
    }

    func testBroadcastShapeRules() {
        XCTAssertEqual(BroadcastPlan.broadcastShape([16, 32, 8, 8], [32, 1, 1]), [16, 32, 8, 8])
        XCTAssertEqual(BroadcastPlan.broadcastShape([5], []), [5])
        XCTAssertNil(BroadcastPlan.broadcastShape([2, 3], [4]))
        // [N,C,H,W] ⊕ [N,C,1,1] merges into one 2-D loop with a scalar per row.
        let plan = BroadcastPlan(output: [16, 32, 8, 8], a: [16, 32, 8, 8], b: [16, 32, 1, 1])
        XCTAssertEqual(plan.dims, [512, 64])
        XCTAssertEqual(plan.strideB, [1, 0])
    }

    func testNoGraphWithoutGrad() {
        let x = Tensor(shape: [2], data: [1, 2], requiresGrad: true)
        XCTAssertFalse(GradMode.withoutGrad { x * x + 1 }.requiresGrad)
        XCTAssertTrue((x * 2).requiresGrad)
    }

    // MARK: Naive references

    private func naiveBroadcast(_ x: Tensor, _ y: Tensor, _ out: [Int]) -> [[Float]] {
        let xs = x.toArray(), ys = y.toArray()
        let sx = broadcastStrides(x.shape, out), sy = broadcastStrides(y.shape, out)
        let n = out.reduce(1, *)
        var results = [[Float]](repeating: [Float](repeating: 0, count: n), count: 4)
        for i in 0..<n {
            let xv = xs[sourceIndex(i, out, sx)], yv = ys[sourceIndex(i, out, sy)]
            results[0][i] = xv + yv; results[1][i] = xv - yv; results[2][i] = xv * yv; results[3][i] = xv / yv
        }
        return results
    }

    private func reduceNaive(_ g: [Float], from out: [Int], to shape: [Int]) -> [Float] {
        let st = broadcastStrides(shape, out)
        var r = [Double](repeating: 0, count: shape.reduce(1, *))
        for i in 0..<g.count { r[sourceIndex(i, out, st)] += Double(g[i]) }
        return r.map { Float($0) }
    }

    /// Strides of `shape` (right-aligned to `out`) with 0 on the broadcast dimensions.
    private func broadcastStrides(_ shape: [Int], _ out: [Int]) -> [Int] {
        let padded = [Int](repeating: 1, count: out.count - shape.count) + shape
        var st = [Int](repeating: 0, count: out.count), acc = 1
        for d in stride(from: out.count - 1, through: 0, by: -1) {
            st[d] = padded[d] == 1 ? 0 : acc
            acc *= padded[d]
        }
        return st
    }

    /// The flat source index read by flat output index `i`.
    private func sourceIndex(_ i: Int, _ out: [Int], _ strides: [Int]) -> Int {
        var rem = i, idx = 0
        for d in stride(from: out.count - 1, through: 0, by: -1) {
            idx += (rem % out[d]) * strides[d]; rem /= out[d]
        }
        return idx
    }
}
