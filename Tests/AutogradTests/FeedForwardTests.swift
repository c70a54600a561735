import XCTest
import Autograd
import Kernels

/// `gegluFeedForward`: diffusers' GEGLU feed-forward as one op that recomputes its hidden projection in backward.
final class FeedForwardTests: XCTestCase {
    private func sequence(_ n: Int, _ mul: Int, _ mod: Int, _ offset: Int, _ divisor: Float, _ shape: [Int]) -> Tensor {
        Tensor(shape: shape, data: (0..<n).map { Float(($0 * mul) % mod - offset) / divisor })
    }

    private func assertClose(_ actual: [Float]?, _ expected: [Double], _ name: String, file: StaticString = #filePath, line: UInt = #line) {
        guard let actual else { return XCTFail("\(name): no value", file: file, line: line) }
        XCTAssertEqual(actual.count, expected.count, name, file: file, line: line)
        for (i, (a, e)) in zip(actual, expected).enumerated() {
            XCTAssertLessThanOrEqual(abs(Double(a) - e), 1e-5 * abs(e) + 1e-7, "\(name)[\(i)]: \(a) vs \(e)", file: file, line: line)
        }
    }

    func testReferenceValues() {
        // Float64 torch: s(n, mul, mod, off, div) = ((torch.arange(n)*mul) % mod - off).double()/div;
        // x = s(6,5,7,3,4).reshape(2,3); w1 = s(12,7,11,5,8).reshape(4,3); b1 = s(4,3,5,2,10);
        // w2 = s(6,4,9,4,6).reshape(3,2); b2 = s(3,2,3,1,5); h = F.linear(x, w1, b1); a, g = h.chunk(2, -1);
        // y = F.linear(a*F.gelu(g), w2, b2); (y * s(6,3,5,2,3).reshape(2,3)).sum().backward()
        let x = sequence(6, 5, 7, 3, 4, [2, 3]), w1 = sequence(12, 7, 11, 5, 8, [4, 3]), b1 = sequence(4, 3, 5, 2, 10, [4])
        let w2 = sequence(6, 4, 9, 4, 6, [3, 2]), b2 = sequence(3, 2, 3, 1, 5, [3])
        for t in [x, w1, b1, w2, b2] { t.requiresGrad = true }
        let y = gegluFeedForward(x, projWeight: w1, projBias: b1, outWeight: w2, outBias: b2)
        assertClose(y.toArray(), [-0.160425, 0.157175711, -0.0361798279, -0.176129365, 0.172713182, -0.0247353425], "y")
        y.backward(sequence(6, 3, 5, 2, 3, [2, 3]))
        assertClose(x.grad?.toArray(), [0.0570191186, -0.0184662059, 0.00969728022, -0.10592439, 0.0284890493, 0.00167100612], "dx")
        assertClose(w1.grad?.toArray(), [-0.00209391536, 0.0502539687, 0.0293148151, 0.0133699178, -0.0178444761, -0.00535871856,
                                         -0.00818986575, -0.00593990263, -0.00683988788, 0.0123410492, -0.0144060112, -0.00370718704], "dw1")
        assertClose(b1.grad?.toArray(), [0.0418783073, -0.0249715151, 0.00179997049, -0.0213976484], "db1")
        assertClose(w2.grad?.toArray(), [0.0157043652, 0.000667577149, -0.0197875002, 0.00649857759, 0.0436581353, -0.0201633099], "dw2")
        assertClose(b2.grad?.toArray(), [0, 0.333333333, -1], "db2")
    }

    func testFiniteDifferences() {
        var rng = RNG(seed: 21)
        // dim 5, inner 19 (the GEGLU kernel's SIMD body and tail), tokens [2, 3].
        let inputs = [Tensor.randn([2, 3, 5], rng: &rng), Tensor.randn([38, 5], rng: &rng, std: 0.5), Tensor.randn([38], rng: &rng, std: 0.5),
                      Tensor.randn([5, 19], rng: &rng, std: 0.3), Tensor.randn([5], rng: &rng)]
        for approximate in [GELUApproximation.none, .tanh] {
            let r = GradientCheck.run(inputs) {
                gegluFeedForward($0[0], projWeight: $0[1], projBias: $0[2], outWeight: $0[3], outBias: $0[4], approximate: approximate)
            }
            XCTAssertLessThan(r.maxError, 1e-2, "\(approximate): \(r)")
        }
    }

    /// The same bits as linear → geglu → linear (outputs and every gradient), with and without biases, and the
    /// hidden projection is not kept for backward (only the input's LayerNorm recipe and the weights are).
    func testEqualsTheComposedOpsToTheBitAndKeepsNoHiddenProjection() throws {
        var rng = RNG(seed: 4)
        let x0 = Tensor.randn([2, 7, 16], rng: &rng), w10 = Tensor.randn([128, 16], rng: &rng, std: 0.2)
        let b10 = Tensor.randn([128], rng: &rng), w20 = Tensor.randn([16, 64], rng: &rng, std: 0.2), b20 = Tensor.randn([16], rng: &rng)
        for withBias in [true, false] {
            func run(fused: Bool) throws -> [[Float]] {
                let x = x0.copy(), w1 = w10.copy(), b1 = b10.copy(), w2 = w20.copy(), b2 = b20.copy()
                for t in [x, w1, b1, w2, b2] { t.requiresGrad = true }
                let normalized = layerNorm(x)
                let y = fused
                    ? gegluFeedForward(normalized, projWeight: w1, projBias: withBias ? b1 : nil, outWeight: w2, outBias: withBias ? b2 : nil)
                    : linear(geglu(linear(normalized, weight: w1, bias: withBias ? b1 : nil)), weight: w2, bias: withBias ? b2 : nil)
                let loss = sum(y * y)
                loss.backward()
                let parameters = withBias ? [x, w1, b1, w2, b2] : [x, w1, w2]
                return try [y.toArray(), loss.toArray()] + parameters.map { try XCTUnwrap($0.grad).toArray() }
            }
            XCTAssertEqual(try run(fused: true), try run(fused: false), "bias \(withBias)")
        }
    }

    /// After the forward pass the fused op holds no large buffer (the composed ops keep the 1 MB hidden projection
    /// for GEGLU's backward), and backward still works from the recomputed one.
    func testKeepsNoHiddenProjectionBetweenThePasses() {
        var rng = RNG(seed: 8)
        // x [512, 64] and the weights stay under the pool's 256 KB threshold; h [512, 512] is 1 MB, a 512 KB.
        let x = Tensor.randn([512, 64], rng: &rng), w1 = Tensor.randn([512, 64], rng: &rng, std: 0.1)
        let w2 = Tensor.randn([64, 256], rng: &rng, std: 0.1)
        for t in [x, w1, w2] { t.requiresGrad = true }
        func keptBytes(_ f: () -> Tensor) -> Int {
            let before = BufferPool.statistics.live
            let y = f()
            let kept = BufferPool.statistics.live - before
            sum(y).backward()
            return kept
        }
        XCTAssertGreaterThanOrEqual(keptBytes { linear(geglu(linear(x, weight: w1)), weight: w2) }, 1 << 20)
        XCTAssertEqual(keptBytes { gegluFeedForward(x, projWeight: w1, projBias: nil, outWeight: w2, outBias: nil) }, 0)
        XCTAssertNotNil(w1.grad)
    }
}
