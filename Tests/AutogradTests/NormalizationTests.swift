import XCTest
import Autograd
import Kernels

final class NormalizationTests: XCTestCase {
    private func assertClose(_ actual: [Float], _ expected: [Double], _ tolerance: Double, _ name: String,
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.count, expected.count, name, file: file, line: line)
        for (i, (a, e)) in zip(actual, expected).enumerated() {
            XCTAssertEqual(Double(a), e, accuracy: tolerance, "\(name)[\(i)]", file: file, line: line)
        }
    }

    /// ((arange(n) * step) % mod − offset) / scale: exact in Float, reproducible in torch.
    private func pattern(_ n: Int, _ step: Int, _ mod: Int, _ offset: Int, _ scale: Float) -> [Float] {
        (0..<n).map { Float((($0 * step) % mod) - offset) / scale }
    }

    func testGroupNormReferenceValues() {
        // x = ((torch.arange(24) * 7) % 23 - 11).double().reshape(2, 4, 3) / 4
        // w = 1 + torch.arange(4).double() / 8; b = torch.arange(4).double() / 4 - 0.5
        // F.group_norm(x, 2, w, b, 1e-5)
        let x = Tensor(shape: [2, 4, 3], data: pattern(24, 7, 23, 11, 4))
        let w = Tensor(shape: [4], data: (0..<4).map { 1 + Float($0) / 8 })
        let b = Tensor(shape: [4], data: (0..<4).map { Float($0) / 4 - 0.5 })
        assertClose(groupNorm(x, groups: 2, weight: w, bias: b, eps: 1e-5).toArray(),
                    [-1.9529174, -0.918637217, 0.115642967, 1.60616354, -1.05341407, 0.110151136, 1.76103791,
                     -1.25788422, 0.062894211, 1.77203991, -1.54877444, -0.0959181607, -0.248423156, 0.80819959,
                     -1.60693811, -0.30660479, 0.882095799, -1.83493412, 0.314471055, 1.63524949, -1.38367264,
                     0.180816368, 1.63367264, -1.6871417], 1e-5, "groupNorm 3-D")
    }

    func testGroupNorm4DWithLargeMean() {
        // x = ((torch.arange(48) * 5) % 19 - 9).double().reshape(2, 6, 2, 2) / 4 + 100
        // w = 1 + torch.arange(6).double() / 8; b = torch.arange(6).double() / 4 - 0.5
        // F.group_norm(x, 3, w, b, 1e-6)   (a mean of 100 tests the two-pass variance)
        let x = Tensor(shape: [2, 6, 2, 2], data: pattern(48, 5, 19, 9, 4).map { $0 + 100 })
        let w = Tensor(shape: [6], data: (0..<6).map { 1 + Float($0) / 8 })
        let b = Tensor(shape: [6], data: (0..<6).map { Float($0) / 4 - 0.5 })
        assertClose(groupNorm(x, groups: 3, weight: w, bias: b, eps: 1e-6).toArray(),
                    [-1.92539293, -1.03452235, -0.143651768, 0.747218812, -1.65312116, -0.650891761, 0.351337642,
                     1.35356704, -1.78174116, -0.668152935, 0.44543529, 1.55902352, -1.46492587, -0.239978819,
                     0.984968229, 2.20991528, -0.422318087, 0.996632816, 2.41558372, -1.55747881, 0.0582614347,
                     1.59545825, 3.13265506, -1.17149601, -1.11487872, -0.168911456, 0.777055813, -1.87165254,
                     -0.72889593, 0.335317248, 1.39953042, -1.58026647, -0.19769274, 0.931980062, 2.06165286,
                     -1.10143098, 0.281066002, 1.52370608, -1.95568615, -0.713046064, 0.93503129, 2.38513559,
                     -1.67515645, -0.22505215, 1.53547316, 3.10641949, -1.29223022, 0.278716103], 1e-4, "groupNorm 4-D")
    }

    func testLayerNormReferenceValues() {
        // x = ((torch.arange(15) * 7) % 23 - 11).double().reshape(3, 5) / 4
        // w = 1 + torch.arange(5).double() / 8; b = torch.arange(5).double() / 4 - 0.5
        let x = Tensor(shape: [3, 5], data: pattern(15, 7, 23, 11, 4))
        let w = Tensor(shape: [5], data: (0..<5).map { 1 + Float($0) / 8 })
        let b = Tensor(shape: [5], data: (0..<5).map { Float($0) / 4 - 0.5 })
        // F.layer_norm(x, (5,), w, b, 1e-5)
        assertClose(layerNorm(x, weight: w, bias: b, eps: 1e-5).toArray(),
                    [-1.78107537, -0.617968458, 0.783636532, 2.4237396, -0.399478454, -0.535488583, 1.10743829,
                     -2.0405935, -0.286764813, 1.77758898, -1.78107537, -0.617968458, 0.783636532, 2.4237396,
                     -0.399478454], 1e-5, "layerNorm")
        // F.layer_norm(x, (5,), None, None, 1e-5)
        assertClose(layerNorm(x, eps: 1e-5).toArray(),
                    [-1.28107537, -0.327083074, 0.626909225, 1.58090152, -0.599652302, -0.0354885827, 1.20661181,
                     -1.6324748, -0.390374409, 0.851725984, -1.28107537, -0.327083074, 0.626909225, 1.58090152,
                     -0.599652302], 1e-5, "layerNorm without affine")
    }

    func testConstantInputGivesBias() {
        // Zero variance: x̂ = 0, so the output is the bias (torch does the same), and nothing is NaN.
        let b = Tensor(shape: [4], data: [0.5, -1, 2, 0])
        let y = groupNorm(Tensor.full([1, 4, 9], 3), groups: 2, weight: Tensor.full([4], 2), bias: b)
        XCTAssertEqual(y.toArray(), (0..<36).map { b.toArray()[$0 / 9] })
        let z = layerNorm(Tensor.full([2, 4], -7), weight: Tensor.full([4], 2), bias: b)
        XCTAssertEqual(z.toArray(), b.toArray() + b.toArray())
    }

    func testGroupNormGradients() {
        var rng = RNG(seed: 21)
        let x = Tensor.randn([2, 4, 3], rng: &rng)
        let w = Tensor.randn([4], rng: &rng), b = Tensor.randn([4], rng: &rng)
        let r = GradientCheck.run([x, w, b]) { groupNorm($0[0], groups: 2, weight: $0[1], bias: $0[2]) }
        XCTAssertLessThan(r.maxError, 1e-2, "\(r)")
        let plain = GradientCheck.run([x]) { groupNorm($0[0], groups: 4) }
        XCTAssertLessThan(plain.maxError, 1e-2, "no affine: \(plain)")
        // A mean of 50 (the backward centres x before combining terms, so nothing cancels).
        let shifted = Tensor(shape: x.shape, data: x.toArray().map { $0 + 50 })
        let s = GradientCheck.run([shifted, w, b]) { groupNorm($0[0], groups: 2, weight: $0[1], bias: $0[2]) }
        XCTAssertLessThan(s.maxError, 1e-2, "mean 50: \(s)")
    }

    /// Groups of 4 × 289 = 1,156 values: the SIMD body, the scalar tail and the Double flush every 1,024.
    func testGroupNormGradientsLargeGroups() {
        var rng = RNG(seed: 22)
        let x = Tensor.randn([2, 8, 17, 17], rng: &rng, std: 2)
        let w = Tensor.randn([8], rng: &rng), b = Tensor.randn([8], rng: &rng)
        let r = GradientCheck.run([x, w, b]) { groupNorm($0[0], groups: 2, weight: $0[1], bias: $0[2], eps: 1e-6) }
        XCTAssertLessThan(r.maxError, 1e-2, "\(r)")
    }

    /// The fused silu(groupNorm(x)) against the two separate ops (values and all three gradients), and a
    /// finite-difference check of the fused op alone (its backward recomputes the normalised values).
    func testGroupNormThenSiLUMatchesSeparateOps() throws {
        var rng = RNG(seed: 25)
        for (shape, groups) in [([2, 4, 3], 2), ([3, 8, 17, 17], 4)] {
            let x = Tensor.randn(shape, rng: &rng, std: 2), g = Tensor.randn(shape, rng: &rng)
            let c = shape[1]
            let w = Tensor.randn([c], rng: &rng), b = Tensor.randn([c], rng: &rng)
            func run(fused: Bool) throws -> [[Float]] {
                let (xi, wi, bi) = (x.copy(), w.copy(), b.copy())
                for t in [xi, wi, bi] { t.requiresGrad = true }
                let y = fused ? groupNorm(xi, groups: groups, weight: wi, bias: bi, thenSiLU: true)
                              : silu(groupNorm(xi, groups: groups, weight: wi, bias: bi))
                y.backward(g)
                return [y.toArray(), try XCTUnwrap(xi.grad).toArray(), try XCTUnwrap(wi.grad).toArray(),
                        try XCTUnwrap(bi.grad).toArray()]
            }
            let fused = try run(fused: true), separate = try run(fused: false)
            for (k, name) in ["y", "dx", "dweight", "dbias"].enumerated() {
                let scale = Double(separate[k].map { abs($0) }.max() ?? 1)
                for (a, e) in zip(fused[k], separate[k]) {
                    XCTAssertEqual(Double(a), Double(e), accuracy: 1e-5 * max(1, scale), "\(shape) \(name)")
                }
            }
        }
        let x = Tensor.randn([2, 4, 3], rng: &rng)
        let w = Tensor.randn([4], rng: &rng), b = Tensor.randn([4], rng: &rng)
        let r = GradientCheck.run([x, w, b]) { groupNorm($0[0], groups: 2, weight: $0[1], bias: $0[2], thenSiLU: true) }
        XCTAssertLessThan(r.maxError, 1e-2, "\(r)")
        let plain = GradientCheck.run([x]) { groupNorm($0[0], groups: 4, thenSiLU: true) }
        XCTAssertLessThan(plain.maxError, 1e-2, "no affine: \(plain)")
    }

    func testLayerNormGradients() {
        var rng = RNG(seed: 23)
        for dim in [5, 37] {   // tail only; SIMD body + tail
            let x = Tensor.randn([3, 2, dim], rng: &rng)
            let w = Tensor.randn([dim], rng: &rng), b = Tensor.randn([dim], rng: &rng)
            let r = GradientCheck.run([x, w, b]) { layerNorm($0[0], weight: $0[1], bias: $0[2]) }
            XCTAssertLessThan(r.maxError, 1e-2, "dim \(dim): \(r)")
            let plain = GradientCheck.run([x]) { layerNorm($0[0]) }
            XCTAssertLessThan(plain.maxError, 1e-2, "dim \(dim), no affine: \(plain)")
        }
    }

    /// Many rows, so the backward splits rows across workers with per-worker weight/bias sums: dx must
    /// match a one-row call, dWeight/dBias the sums computed in Double.
    func testLayerNormParallelBackwardMatchesSerial() throws {
        var rng = RNG(seed: 24)
        let rows = 1024, d = 128
        let x = Tensor.randn([rows, d], rng: &rng), g = Tensor.randn([rows, d], rng: &rng)
        let w = Tensor.randn([d], rng: &rng), b = Tensor.randn([d], rng: &rng)
        for t in [x, w, b] { t.requiresGrad = true }
        layerNorm(x, weight: w, bias: b).backward(g)
        let xs = x.toArray(), gs = g.toArray(), dx = try XCTUnwrap(x.grad).toArray()
        let dw = try XCTUnwrap(w.grad).toArray(), db = try XCTUnwrap(b.grad).toArray()

        for row in stride(from: 0, to: rows, by: 97) {
            let xr = Tensor(shape: [1, d], data: Array(xs[row * d..<(row + 1) * d]), requiresGrad: true)
            layerNorm(xr, weight: w.detached(), bias: b.detached()).backward(Tensor(shape: [1, d], data: Array(gs[row * d..<(row + 1) * d])))
            let single = try XCTUnwrap(xr.grad).toArray()
            for j in 0..<d { XCTAssertEqual(single[j], dx[row * d + j], accuracy: 1e-5) }
        }
        var refW = [Double](repeating: 0, count: d), refB = [Double](repeating: 0, count: d)
        for row in 0..<rows {
            let xr = xs[row * d..<(row + 1) * d].map(Double.init)
            let m = xr.reduce(0, +) / Double(d)
            let rs = 1 / (xr.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(d) + 1e-5).squareRoot()
            for j in 0..<d {
                refW[j] += Double(gs[row * d + j]) * (xr[j] - m) * rs
                refB[j] += Double(gs[row * d + j])
            }
        }
        for j in 0..<d {
            XCTAssertEqual(Double(dw[j]), refW[j], accuracy: 1e-3)
            XCTAssertEqual(Double(db[j]), refB[j], accuracy: 1e-3)
        }
    }
}
