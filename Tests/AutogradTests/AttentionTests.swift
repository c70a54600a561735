import Foundation
import XCTest
import Autograd
import Kernels

final class AttentionTests: XCTestCase {
    private func assertClose(_ actual: [Float], _ expected: [Double], _ tolerance: Double, _ name: String,
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.count, expected.count, name, file: file, line: line)
        for (i, (a, e)) in zip(actual, expected).enumerated() {
            XCTAssertEqual(Double(a), e, accuracy: tolerance, "\(name)[\(i)]", file: file, line: line)
        }
    }

    /// ((arange(n) * step) % mod − offset) / scale reshaped to `shape`: exact in Float, reproducible in torch.
    private func pattern(_ shape: [Int], _ step: Int, _ mod: Int, _ offset: Int, _ scale: Float) -> Tensor {
        let n = shape.reduce(1, *)
        return Tensor(shape: shape, data: (0..<n).map { Float((($0 * step) % mod) - offset) / scale })
    }

    // B, H, Lq, Lk, D = 2, 2, 5, 3, 8; hd = 4
    // q = ((torch.arange(B*Lq*D) * 7) % 23 - 11).double().reshape(B, Lq, D) / 8
    // k = ((torch.arange(B*Lk*D) * 5) % 19 - 9).double().reshape(B, Lk, D) / 8
    // v = ((torch.arange(B*Lk*D) * 3) % 17 - 8).double().reshape(B, Lk, D) / 4
    // heads(t) = t.reshape(B, L, H, hd).transpose(1, 2); merge(t) = t.transpose(1, 2).reshape(B, L, D)

    func testCrossAttentionReferenceValues() {
        let q = pattern([2, 5, 8], 7, 23, 11, 8), k = pattern([2, 3, 8], 5, 19, 9, 8), v = pattern([2, 3, 8], 3, 17, 8, 4)
        let y = scaledDotProductAttention(query: q, key: k, value: v, heads: 2, causal: false)
        XCTAssertEqual(y.shape, [2, 5, 8])
        // merge(F.scaled_dot_product_attention(heads(q), heads(k), heads(v)))
        assertClose(y.toArray(),
                    [-0.881215236, -0.545888413, 0.204111587, 0.954111587, 0.0663652712, 0.816365271, 0.667734647,
                     -1.10253726, -0.128167824, -1.04581565, -0.295815647, 0.454184353, -0.163964374, 0.586035626,
                     0.0432552638, -0.604573596, -0.604925129, -0.615297479, 0.134702521, 0.884702521, 0.126084106,
                     0.876084106, 0.736141767, -1.19157343, 0.370906494, -1.28664587, -0.536645866, 0.213354134,
                     -0.0664536639, 0.683546336, 0.0886182647, -0.721525592, -0.604103051, -0.723863305, 0.0261366953,
                     0.776136695, -0.306948944, 0.443051056, -0.351575829, -0.292375701, -0.381919596, 0.368080404,
                     -0.610708971, 0.139291029, 0.48802755, 0.752917351, -0.203563558, 0.546436442, -1.06908808,
                     -0.31908808, -0.484329127, 0.265670873, 0.849778728, 0.422650617, -0.423771849, 0.326228151,
                     -0.479064783, 0.270935217, -0.652941553, 0.0970584469, 1.4462384, -0.611528987, -0.577011688,
                     0.172988312, -1.16493439, -0.414934394, -0.418800149, 0.331199851, 0.737382871, 0.445244083,
                     -0.321058907, 0.428941093, -0.666534411, 0.0834655893, -0.646140198, 0.103859802, 1.35185852,
                     -0.540612921, -0.513024414, 0.236975586], 1e-5, "cross attention")
    }

    func testCausalSelfAttentionReferenceValues() {
        // k5 = ((torch.arange(B*Lq*D) * 5) % 19 - 9).double().reshape(B, Lq, D) / 8
        // v5 = ((torch.arange(B*Lq*D) * 3) % 17 - 8).double().reshape(B, Lq, D) / 4
        let q = pattern([2, 5, 8], 7, 23, 11, 8), k = pattern([2, 5, 8], 5, 19, 9, 8), v = pattern([2, 5, 8], 3, 17, 8, 4)
        let y = scaledDotProductAttention(query: q, key: k, value: v, heads: 2, causal: true)
        // merge(F.scaled_dot_product_attention(heads(q), heads(k5), heads(v5), is_causal=True))
        assertClose(y.toArray(),
                    [-2, -1.25, -0.5, 0.25, 1, 1.75, -1.75, -1, -1.1796164, -0.429616403, 0.320383597, 1.0703836,
                     -0.36684538, 0.38315462, -0.793208234, -0.043208234, -0.604925129, -0.615297479, 0.134702521,
                     0.884702521, 0.126084106, 0.876084106, 0.736141767, -1.19157343, -0.139779652, -0.900477528,
                     -0.150477528, 0.599522472, 0.488431907, 0.0972189599, -0.136568093, -0.52778104, -0.47743411,
                     -0.356959188, -0.180148294, 0.569851706, 0.0100903134, 0.124467593, -0.215243274, 0.0474078814,
                     -1.75, -1, -0.25, 0.5, 1.25, 2, -1.5, -0.75, -0.820383597, -0.0703835966, 0.679616403,
                     -0.828023433, -0.0488033049, 0.701196695, -0.590837687, 0.159162313, 0.313503261, -0.848564374,
                     -0.0985643739, -0.535794167, 0.140313604, 0.890313604, 0.0690151508, -0.312748668, -0.559386361,
                     -0.330782271, 0.419217729, -0.3995915, -0.535013128, 0.214986872, 0.526641904, -0.526108353,
                     0.427668682, 0.197219133, -0.524609965, -0.103019427, -0.217464076, 0.532535924, 0.416501819,
                     0.497282532], 1e-5, "causal self-attention")
    }

    func testGradients() {
        var rng = RNG(seed: 51)
        // Cross-attention shapes: B = 2, Lq = 5, Lk = 3, D = 8, 2 heads.
        let q = Tensor.randn([2, 5, 8], rng: &rng), k = Tensor.randn([2, 3, 8], rng: &rng)
        let v = Tensor.randn([2, 3, 8], rng: &rng)
        let cross = GradientCheck.run([q, k, v]) { scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], heads: 2) }
        XCTAssertLessThan(cross.maxError, 1e-2, "cross: \(cross)")
        // Causal self-attention: L = 5.
        let k5 = Tensor.randn([2, 5, 8], rng: &rng), v5 = Tensor.randn([2, 5, 8], rng: &rng)
        for causal in [true, false] {
            let r = GradientCheck.run([q, k5, v5]) {
                scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], heads: 2, causal: causal)
            }
            XCTAssertLessThan(r.maxError, 1e-2, "self, causal \(causal): \(r)")
        }
        // Rows of 37 keys (two SIMD blocks and a tail), so the backward's recomputed softmax
        // (exp(s − logSumExp)) runs its vector body, its tail and, causal, the masked zeros.
        let q37 = Tensor.randn([1, 37, 4], rng: &rng), k37 = Tensor.randn([1, 37, 4], rng: &rng)
        let v37 = Tensor.randn([1, 37, 4], rng: &rng)
        for causal in [true, false] {
            let r = GradientCheck.run([q37, k37, v37]) {
                scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], heads: 2, causal: causal)
            }
            XCTAssertLessThan(r.maxError, 1e-2, "37 keys, causal \(causal): \(r)")
        }
    }

    /// Softmax(q·kᵀ/√hd [+ mask])·v per head, in Double, straight from the definition.
    private func naive(_ q: [Float], _ k: [Float], _ v: [Float], b: Int, lq: Int, lk: Int, d: Int, heads: Int,
                       causal: Bool) -> [Double] {
        let hd = d / heads
        var out = [Double](repeating: 0, count: b * lq * d)
        for n in 0..<b {
            for h in 0..<heads {
                for i in 0..<lq {
                    var s = [Double](repeating: -.infinity, count: lk)
                    for j in 0..<lk where !causal || j <= i {
                        var dot = 0.0
                        for c in 0..<hd { dot += Double(q[(n * lq + i) * d + h * hd + c]) * Double(k[(n * lk + j) * d + h * hd + c]) }
                        s[j] = dot / Double(hd).squareRoot()
                    }
                    let m = s.max() ?? 0
                    let e = s.map { Foundation.exp($0 - m) }
                    let z = e.reduce(0, +)
                    for c in 0..<hd {
                        var acc = 0.0
                        for j in 0..<lk { acc += e[j] / z * Double(v[(n * lk + j) * d + h * hd + c]) }
                        out[(n * lq + i) * d + h * hd + c] = acc
                    }
                }
            }
        }
        return out
    }

    /// U-Net-like odd sizes (many (batch, head) tasks in parallel, rows longer than 16) against the
    /// definition; the inference path (no saved probabilities) gives the same values.
    func testLargerShapesMatchDefinition() {
        var rng = RNG(seed: 52)
        for (lq, lk, causal) in [(37, 19, false), (33, 33, true)] {
            let q = Tensor.randn([3, lq, 48], rng: &rng), k = Tensor.randn([3, lk, 48], rng: &rng)
            let v = Tensor.randn([3, lk, 48], rng: &rng)
            let expected = naive(q.toArray(), k.toArray(), v.toArray(), b: 3, lq: lq, lk: lk, d: 48, heads: 4, causal: causal)
            let inference = scaledDotProductAttention(query: q, key: k, value: v, heads: 4, causal: causal)
            assertClose(inference.toArray(), expected, 1e-5, "Lq \(lq), Lk \(lk), causal \(causal)")
            q.requiresGrad = true
            let training = scaledDotProductAttention(query: q, key: k, value: v, heads: 4, causal: causal)
            XCTAssertTrue(training.requiresGrad)
            XCTAssertEqual(training.toArray(), inference.toArray())
        }
    }

    /// Only the inputs that need a gradient get one (a frozen key/value projection, for example).
    func testPartialGradients() throws {
        var rng = RNG(seed: 53)
        let q = Tensor.randn([2, 4, 8], rng: &rng), k = Tensor.randn([2, 6, 8], rng: &rng)
        let v = Tensor.randn([2, 6, 8], rng: &rng)
        v.requiresGrad = true
        scaledDotProductAttention(query: q, key: k, value: v, heads: 2).backward(Tensor.full([2, 4, 8], 1))
        XCTAssertNil(q.grad)
        XCTAssertNil(k.grad)
        // dV = Pᵀ·dO with dO = 1: each key's rows of P summed, so every head's column block sums to Lq = 4 over keys.
        let dv = try XCTUnwrap(v.grad).toArray()
        for n in 0..<2 {
            for c in 0..<8 {
                let total = (0..<6).map { dv[(n * 6 + $0) * 8 + c] }.reduce(0, +)
                XCTAssertEqual(total, 4, accuracy: 1e-5)
            }
        }
    }
}
