import XCTest
import Autograd
import Kernels

final class ConvolutionTests: XCTestCase {
    /// One torch reference per kernel/stride/padding combination. Values from
    /// ```
    /// x = pat([2,2,5,5]).requires_grad_(); w = pat([3,2,kh,kw], 5, 1).requires_grad_(); b = pat([3], 7, 2).requires_grad_()
    /// out = F.conv2d(x, w, b, stride=s, padding=p); (out * pat(out.shape, 3, 1)).sum().backward()
    /// out.flatten()[::5], x.grad.flatten()[::7], w.grad.flatten()[::5], b.grad
    /// ```
    /// (pat as in TorchPattern).
    struct Reference {
        let kh, kw, stride, padding: Int
        let outShape: [Int]
        let out, dx, dw, db: [Float]
    }

    let references: [Reference] = [
        Reference(kh: 3, kw: 3, stride: 1, padding: 1, outShape: [2, 3, 5, 5],
                  out: [-1.375, -2.34375, -1.984375, 0.765625, 1.84375, -0.609375, -0.046875, 2.15625, 2.234375, 0.984375,
                        2.28125, 1.1875, 1.25, -0.8125, -0.40625, -2.234375, -1.671875, 1.078125, 1.703125, -1.09375,
                        0.90625, 2.0625, 2.140625, 0.09375, -0.375, 1.65625, 1.015625, -1.046875, -0.71875, 0.609375],
                  dx: [1.578125, -1.515625, 1.859375, -1.3125, 0.3125, 0.46875, -0.28125, -0.140625, 0.234375, 3.515625,
                       -2.1875, 0.25, -1.109375, 2.390625, -1.078125],
                  dw: [-0.109375, 0.734375, 0.890625, 2.59375, -2.4375, 4.53125, -4.421875, 1.84375, -0.265625, 0.078125,
                       -2.234375],
                  db: [-1.75, 1.625, -1.375]),
        Reference(kh: 3, kw: 3, stride: 2, padding: 1, outShape: [2, 3, 3, 3],
                  out: [-1.375, 1.296875, 0.46875, 0.984375, 0.5, 2.8125, 1.078125, 1.1875, -2.546875, 1.65625, 0.140625],
                  dx: [0.109375, 0.96875, -1.046875, -0.25, -0.828125, 0.609375, 0.40625, 0.546875, 1.09375, -0.125,
                       -1.09375, -1.03125, -1.015625, -2.609375, 0.84375],
                  dw: [-0.921875, -0.953125, 1.484375, -0.1875, 1.28125, -1.0, -0.46875, 0.171875, -0.046875, 0.125,
                       -0.59375],
                  db: [-1.75, 1.625, -1.375]),
        Reference(kh: 1, kw: 1, stride: 1, padding: 0, outShape: [2, 3, 5, 5],
                  out: [0.15625, -1.421875, -1.140625, -0.859375, -1.109375, -0.375, 0.078125, -0.265625, -0.609375,
                        1.171875, 1.484375, 0.515625, 0.609375, 0.703125, 1.0625, -1.28125, -1.0, -0.71875, -0.96875,
                        -0.6875, -0.09375, -0.4375, -0.78125, 1.0, 0.65625, 0.5625, 0.65625, 0.75, 1.109375, 1.203125],
                  dx: [0.328125, 0.890625, 0.390625, -0.90625, -1.078125, -0.640625, 0.328125, 0.5, 0.765625, -0.53125,
                       -1.03125, -0.96875, -0.53125, 0.4375, 0.609375],
                  dw: [2.875, 0.125],
                  db: [-1.75, 1.625, -1.375]),
        Reference(kh: 3, kw: 3, stride: 1, padding: 0, outShape: [2, 3, 3, 3],
                  out: [0.109375, -1.65625, -1.109375, 0.703125, -1.0625, 3.65625, -2.796875, -1.640625, -2.546875,
                        3.03125, 1.890625],
                  dx: [0.484375, -0.078125, -1.015625, -0.625, 0.828125, -0.9375, -0.375, 0.359375, -1.515625, 1.15625,
                       0.765625, -1.28125, 0.71875, -0.78125, -0.453125],
                  dw: [0.21875, 2.265625, -0.375, -0.96875, -1.75, 2.40625, -1.953125, -1.140625, -0.75, 1.40625, 0.1875],
                  db: [-1.75, 1.625, -1.375]),
        Reference(kh: 1, kw: 1, stride: 2, padding: 0, outShape: [2, 3, 3, 3],
                  out: [0.15625, -0.96875, 0.65625, 1.171875, 0.65625, 0.515625, -0.71875, 0.015625, 0.25, 0.5625, 1.25],
                  dx: [1.15625, 0.0, -0.453125, 0.0, 0.0, -0.609375, 0.0, -0.828125, 0.0, 0.0, -0.328125, 0.421875, 0.0,
                       0.0, 0.0],
                  dw: [0.96875, -1.25],
                  db: [-1.75, 1.625, -1.375]),
        Reference(kh: 2, kw: 3, stride: 1, padding: 2, outShape: [2, 3, 8, 7],
                  out: [-0.75, -0.75, -2.109375, -0.84375, -2.0, -1.671875, -2.140625, -0.859375, -1.421875, -2.015625,
                        -0.75, -0.75, 0.125, 0.515625, -0.421875, -0.28125, 0.8125, -1.34375, -0.40625, 0.59375,
                        -0.859375, 0.125, 0.125, 1.0, 1.265625, 0.03125, 1.78125, -1.515625, 1.625, 1.5, -1.296875,
                        0.609375, 1.703125, 1.0, -0.75, -0.46875, -1.75, 0.75, 1.25, -0.203125, -0.96875, 0.15625,
                        -0.921875, -1.578125, -0.75, 0.125, 0.125, 0.5625, 1.796875, -1.90625, -0.15625, 3.4375, -0.09375,
                        -0.09375, 1.609375, 0.125, 1.0, 1.0, 1.71875, 1.5, 2.375, 0.21875, 2.234375, 0.78125, 0.78125,
                        2.625, 1.0, 1.0],
                  dx: [-0.046875, 1.6875, 1.296875, 1.46875, 2.625, -0.859375, 0.78125, -1.03125, -0.21875, 0.1875,
                       1.6875, 0.75, -0.796875, 2.625, -0.78125],
                  dw: [-2.640625, -0.09375, 0.515625, -3.078125, 0.640625, -1.203125, -4.640625, 0.328125],
                  db: [-0.75, 1.0, -1.5]),
        Reference(kh: 3, kw: 3, stride: 2, padding: 0, outShape: [2, 3, 2, 2],
                  out: [0.109375, -0.140625, 3.25, -1.640625, 3.03125],
                  dx: [0.609375, -0.59375, 0.40625, 0.5625, 0.21875, 0.796875, 0.90625, -0.5, 0.609375, -0.3125, 0.34375,
                       1.1875, 0.546875, 0.421875, 0.609375],
                  dw: [0.953125, 0.734375, -0.65625, 0.65625, -0.203125, 1.234375, -0.1875, 0.8125, 2.171875, -1.140625,
                       -1.3125],
                  db: [-1.5, -0.125, 1.25]),
    ]

    func testReferenceValues() {
        for r in references {
            let what = "\(r.kh)×\(r.kw) s\(r.stride) p\(r.padding)"
            let x = TorchPattern.make([2, 2, 5, 5]), w = TorchPattern.make([3, 2, r.kh, r.kw], mul: 5, add: 1)
            let b = TorchPattern.make([3], mul: 7, add: 2)
            for t in [x, w, b] { t.requiresGrad = true }
            let out = conv2d(x, weight: w, bias: b, stride: r.stride, padding: r.padding)
            XCTAssertEqual(out.shape, r.outShape, what)
            TorchPattern.assertClose(out.toArray(), r.out, stride: 5, what + " out")
            out.backward(TorchPattern.make(out.shape, mul: 3, add: 1))
            TorchPattern.assertClose(x.grad!.toArray(), r.dx, stride: 7, what + " dx")
            TorchPattern.assertClose(w.grad!.toArray(), r.dw, stride: 5, what + " dw")
            TorchPattern.assertClose(b.grad!.toArray(), r.db, what + " db")
        }
    }

    /// Finite differences for x, weight and bias over kernel/stride/padding combinations, batch 2,
    /// a non-square image so that height and width cannot be confused.
    func testGradients() {
        var rng = RNG(seed: 21)
        let combos: [(Int, Int, Int, Int)] = [(3, 3, 1, 1), (3, 3, 2, 1), (1, 1, 1, 0), (1, 1, 2, 0), (3, 3, 1, 0),
                                              (2, 3, 1, 2), (3, 3, 2, 0)]
        for (kh, kw, s, p) in combos {
            let x = Tensor.randn([2, 3, 6, 5], rng: &rng)
            let w = Tensor.randn([4, 3, kh, kw], rng: &rng, std: 0.5), b = Tensor.randn([4], rng: &rng)
            let r = GradientCheck.run([x, w, b]) { conv2d($0[0], weight: $0[1], bias: $0[2], stride: s, padding: p) }
            XCTAssertLessThan(r.maxError, 1e-2, "\(kh)×\(kw) s\(s) p\(p): \(r)")
        }
        let x = Tensor.randn([2, 3, 6, 5], rng: &rng), w = Tensor.randn([4, 3, 3, 3], rng: &rng, std: 0.5)
        let r = GradientCheck.run([x, w]) { conv2d($0[0], weight: $0[1], padding: 1) }
        XCTAssertLessThan(r.maxError, 1e-2, "no bias: \(r)")
    }

    func testOnlyRequestedGradients() {
        var rng = RNG(seed: 22)
        let x = Tensor.randn([2, 3, 4, 4], rng: &rng)
        let w = Tensor.randn([2, 3, 3, 3], rng: &rng, requiresGrad: true)
        sum(conv2d(x, weight: w, padding: 1)).backward()
        XCTAssertNil(x.grad)
        XCTAssertEqual(w.grad?.shape, [2, 3, 3, 3])
    }
}

private extension Tensor {
    static func randn(_ shape: [Int], rng: inout RNG, std: Float = 1, requiresGrad: Bool) -> Tensor {
        let t = Tensor.randn(shape, rng: &rng, std: std)
        t.requiresGrad = requiresGrad
        return t
    }
}
