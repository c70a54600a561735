import XCTest
import Autograd
import Kernels

/// Selective recomputation (`SavedInput`): a convolution or linear layer after a norm, GEGLU, upsampling or
/// concatenation keeps a recipe instead of its input, frees the input after the forward pass, and gets the
/// same gradients to the bit.
final class SelectiveRecomputationTests: XCTestCase {
    /// Each cheap op's recipe rebuilds its output exactly.
    func testRecipesRebuildTheOutputBitForBit() throws {
        var rng = RNG(seed: 3)
        let x = Tensor.randn([2, 8, 5, 5], rng: &rng)
        x.requiresGrad = true
        let w = Tensor.randn([8], rng: &rng), b = Tensor.randn([8], rng: &rng)
        let rows = Tensor.randn([6, 10], rng: &rng)
        rows.requiresGrad = true
        let outputs: [(String, Tensor)] = [
            ("groupNorm", groupNorm(x, groups: 4, weight: w, bias: b)),
            ("groupNorm+SiLU", groupNorm(x, groups: 2, weight: w, bias: b, thenSiLU: true)),
            ("layerNorm", layerNorm(rows, weight: Tensor.randn([10], rng: &rng), bias: Tensor.randn([10], rng: &rng))),
            ("geglu", geglu(rows)),
            ("upsample", upsampleNearest2x(x)),
            ("concat", concat([x, x * 2], axis: 1)),
        ]
        for (name, y) in outputs {
            let again = try XCTUnwrap(y.recompute, "\(name) has no recipe")()
            XCTAssertEqual(again.shape, y.shape, name)
            XCTAssertEqual(again.toArray(), y.toArray(), name)
        }
        // Without a graph there is nothing to recompute for.
        XCTAssertNil(GradMode.withoutGrad { layerNorm(rows) }.recompute)
    }

    /// linear(layerNorm(x)) and conv(groupNorm+SiLU(x)) against the same graphs with the layer's input kept
    /// (× 1 makes an ordinary tensor of the same values): identical outputs and gradients, and the
    /// recomputable input is not alive between the passes.
    func testSameGradientsAsKeepingTheInputAndTheInputIsFreed() throws {
        var rng = RNG(seed: 11)
        let x0 = Tensor.randn([2, 8, 6, 6], rng: &rng), gamma0 = Tensor.randn([8], rng: &rng)
        let w0 = Tensor.randn([4, 8, 3, 3], rng: &rng), lw0 = Tensor.randn([5, 4], rng: &rng)
        func run(keepInputs: Bool) throws -> (values: [[Float]], freed: Bool) {
            let x = x0.copy(), gamma = gamma0.copy(), w = w0.copy(), lw = lw0.copy()
            for t in [x, gamma, w, lw] { t.requiresGrad = true }
            weak var normalized: Storage?, tokensNormalized: Storage?
            let loss: Tensor = {
                var h = groupNorm(x, groups: 4, weight: gamma, thenSiLU: true)
                if keepInputs { h = h * 1 }
                normalized = h.storage
                let y = conv2d(h, weight: w, padding: 1)                      // [2, 4, 6, 6]
                var t = layerNorm(y.permuted([0, 2, 3, 1]).reshaped([2, 36, 4]))
                if keepInputs { t = t * 1 }
                tokensNormalized = t.storage
                let z = linear(t, weight: lw)
                return sum(z * z)
            }()
            let freed = normalized == nil && tokensNormalized == nil
            loss.backward()
            let grads = try [x, gamma, w, lw].map { try XCTUnwrap($0.grad).toArray() }
            return ([loss.toArray()] + grads, freed)
        }
        let kept = try run(keepInputs: true), recomputed = try run(keepInputs: false)
        XCTAssertFalse(kept.freed, "× 1 outputs are kept by the layers")
        XCTAssertTrue(recomputed.freed, "the norms' outputs are rebuilt in backward, not kept")
        for (k, r) in zip(kept.values, recomputed.values) { XCTAssertEqual(k, r) }
    }

    /// A rebuilt input that is itself rebuilt from rebuilt parts (a U-Net's upsample → skip concatenation →
    /// GroupNorm+SiLU → convolution): same gradients as with every intermediate kept. (This caught a rebuilt
    /// part freed before the kernel that read it.)
    func testChainOfRecipesMatchesKeptIntermediates() throws {
        var rng = RNG(seed: 5)
        let a0 = Tensor.randn([2, 4, 3, 3], rng: &rng), b0 = Tensor.randn([2, 4, 6, 6], rng: &rng)
        let w0 = Tensor.randn([3, 8, 3, 3], rng: &rng)
        func run(keep: Bool) throws -> [[Float]] {
            let a = a0.copy(), b = b0.copy(), w = w0.copy()
            for t in [a, b, w] { t.requiresGrad = true }
            var u = upsampleNearest2x(a)
            if keep { u = u * 1 }
            var c = concat([u, b], axis: 1)
            if keep { c = c * 1 }
            var h = groupNorm(c, groups: 2, thenSiLU: true)
            if keep { h = h * 1 }
            let y = conv2d(h, weight: w, padding: 1)
            sum(y * y).backward()
            return try [y.toArray()] + [a, b, w].map { try XCTUnwrap($0.grad).toArray() }
        }
        let kept = try run(keep: true), rebuilt = try run(keep: false)
        for (k, r) in zip(kept, rebuilt) { XCTAssertEqual(k, r) }
    }

    /// Finite differences through a recipe chain: conv(groupNorm(concat(upsample(a), b))).
    func testFiniteDifferencesThroughAChainOfRecipes() {
        var rng = RNG(seed: 5)
        let a = Tensor.randn([1, 2, 3, 3], rng: &rng), b = Tensor.randn([1, 2, 6, 6], rng: &rng)
        let w = Tensor.randn([3, 4, 3, 3], rng: &rng)
        let r = GradientCheck.run([a, b, w]) { t in
            let h = groupNorm(concat([upsampleNearest2x(t[0]), t[1]], axis: 1), groups: 2, thenSiLU: true)
            return conv2d(h, weight: t[2], padding: 1)
        }
        XCTAssertLessThan(r.maxError, 1e-2, "\(r)")
    }

    /// Attention's query, key and value from `linear(…, recomputedInBackward: true)` are freed after the forward
    /// pass and rebuilt (the GEMM again) by the attention's backward: the same outputs and gradients to the bit as
    /// keeping them, for self- and cross-attention.
    func testAttentionProjectionsAreRebuiltNotKept() {
        var rng = RNG(seed: 9)
        let x0 = Tensor.randn([2, 6, 8], rng: &rng), c0 = Tensor.randn([2, 4, 8], rng: &rng)
        let weights0 = (0..<3).map { _ in Tensor.randn([8, 8], rng: &rng, std: 0.4) }
        for cross in [false, true] {
            func run(rebuild: Bool) -> (values: [[Float]], freed: Bool) {
                let x = x0.copy(), c = c0.copy(), weights = weights0.map { $0.copy() }
                for t in [x, c] + weights { t.requiresGrad = true }
                weak var query: Storage?, key: Storage?, value: Storage?
                let y: Tensor = {
                    let h = layerNorm(x), source = cross ? c : h
                    let q = linear(h, weight: weights[0], recomputedInBackward: rebuild)
                    let k = linear(source, weight: weights[1], recomputedInBackward: rebuild)
                    let v = linear(source, weight: weights[2], recomputedInBackward: rebuild)
                    (query, key, value) = (q.storage, k.storage, v.storage)
                    return scaledDotProductAttention(query: q, key: k, value: v, heads: 2)
                }()
                let freed = query == nil && key == nil && value == nil
                sum(y * y).backward()
                return ([y.toArray()] + ([x, c] + weights).map { $0.grad?.toArray() ?? [] }, freed)
            }
            let kept = run(rebuild: false), rebuilt = run(rebuild: true)
            XCTAssertFalse(kept.freed, "cross \(cross): the attention keeps ordinary projections")
            XCTAssertTrue(rebuilt.freed, "cross \(cross): rebuilt projections are not kept between the passes")
            XCTAssertEqual(kept.values, rebuilt.values, "cross \(cross)")
        }
    }
}
