import Autograd
import Foundation
import Kernels
import NN
import XCTest
import Diffusion

/// The decoupled cross-attention branch (IP-Adapter style) for extra conditioning tokens: what it computes,
/// its gradients, and how the U-Net attaches it and guards the context it then expects.
final class DecoupledCrossAttentionTests: XCTestCase {
    private static let toy = UNetConfig(blockOutChannels: [8, 16, 16], attentionHeadDim: 4, crossAttentionDim: 12,
                                        normNumGroups: 4)

    private func branches(for unet: UNet2DConditionModel, tokens: Int, seed: UInt64) -> [DecoupledCrossAttention] {
        var rng = RNG(seed: seed)
        return unet.crossAttentionLayers.map {
            DecoupledCrossAttention(contextDim: 12, innerDim: $0.toK.outFeatures, tokenCount: tokens, rng: &rng)
        }
    }

    private func maxDifference(_ a: Tensor, _ b: Tensor) -> Float {
        zip(a.toArray(), b.toArray()).map { abs($0 - $1) }.max() ?? 0
    }

    func testBranchIsItsOwnAttentionAddedBeforeToOut() {
        var rng = RNG(seed: 21)
        let attention = Attention(queryDim: 8, contextDim: 6, heads: 2, headDim: 4, rng: &rng)
        let branch = DecoupledCrossAttention(contextDim: 6, innerDim: 8, tokenCount: 3, scale: 0.5, rng: &rng)
        let x = Tensor.randn([2, 5, 8], rng: &rng), text = Tensor.randn([2, 4, 6], rng: &rng), extra = Tensor.randn([2, 3, 6], rng: &rng)
        let q = attention.toQ(x)
        let expected = attention.toOut(
            scaledDotProductAttention(query: q, key: attention.toK(text), value: attention.toV(text), heads: 2, causal: false)
            + 0.5 * scaledDotProductAttention(query: q, key: branch.toK(extra), value: branch.toV(extra), heads: 2, causal: false))
        let plain = attention(x, context: text)
        let actual = attention(x, context: concat([text, extra], axis: 1), decoupled: branch)
        XCTAssertEqual(actual.shape, [2, 5, 8])
        XCTAssertLessThan(maxDifference(actual, expected), 1e-6)
        // All-zero extra tokens add exactly nothing: zero keys give a uniform softmax over zero values.
        let zeros = attention(x, context: concat([text, Tensor(zeros: [2, 3, 6])], axis: 1), decoupled: branch)
        XCTAssertEqual(zeros.toArray(), plain.toArray())
    }

    func testBranchGradient() {
        var rng = RNG(seed: 22)
        let attention = Attention(queryDim: 4, contextDim: 3, heads: 2, headDim: 2, rng: &rng)
        let branch = DecoupledCrossAttention(contextDim: 3, innerDim: 4, tokenCount: 2, rng: &rng)
        let x = Tensor.randn([1, 3, 4], rng: &rng), context = Tensor.randn([1, 5, 3], rng: &rng)
        let r = GradientCheck.run([x, context, branch.toK.weight, branch.toV.weight, attention.toV.weight]) {
            attention($0[0], context: $0[1], decoupled: branch)
        }
        XCTAssertLessThan(r.maxError, 1e-2, "\(r)")
    }

    func testAttachedUNetReadsTheLastTokensAndGuardsTheContextLength() throws {
        var rng = RNG(seed: 1)
        let unet = try UNet2DConditionModel(config: Self.toy, rng: &rng)
        let plainUNet = try UNet2DConditionModel(config: Self.toy, rng: &rng)
        try plainUNet.copyParameters(from: unet)
        let x = Tensor.randn([2, 3, 16, 16], rng: &rng), text = Tensor.randn([2, 7, 12], rng: &rng)
        let user = Tensor.randn([2, 2, 12], rng: &rng)

        let n = unet.crossAttentionLayers.count
        XCTAssertEqual(n, unet.namedParameters().filter { $0.0.hasSuffix("attn2.to_k.weight") }.count, "every attn2, once")
        XCTAssertEqual(unet.crossAttentionLayers.first?.toK.inFeatures, 12, "cross-attention, not self-attention")
        XCTAssertThrowsError(try unet.attach(Array(branches(for: unet, tokens: 2, seed: 3).dropLast()), textLength: 7)) {
            XCTAssertTrue("\($0)".contains("\(n - 1) decoupled branches for \(n) cross-attention layers"), "\($0)")
        }
        let wrongWidth = (0..<n).map { _ in DecoupledCrossAttention(contextDim: 12, innerDim: 4, tokenCount: 2, rng: &rng) }
        XCTAssertThrowsError(try unet.attach(wrongWidth, textLength: 7)) { XCTAssertTrue("\($0)".contains("branch 0"), "\($0)") }
        XCTAssertTrue(unet.decoupledBranches.isEmpty, "a refused attach leaves the U-Net as it was")

        let attached = branches(for: unet, tokens: 2, seed: 3)
        try unet.attach(attached, textLength: 7)
        XCTAssertEqual(unet.decoupledBranches.count, n)
        XCTAssertEqual(unet.namedParameters().count, plainUNet.namedParameters().count, "the branches stay out of the U-Net's state dict")
        try GradMode.withoutGrad {
            let none = try unet(x, timesteps: [10, 500], context: UNet2DConditionModel.appendingTokens(Tensor(zeros: [2, 2, 12]), to: text))
            XCTAssertEqual(none.toArray(), try plainUNet(x, timesteps: [10, 500], context: text).toArray(),
                           "zero extra tokens: exactly the unattached network on the text")
            let withUser = try unet(x, timesteps: [10, 500], context: UNet2DConditionModel.appendingTokens(user, to: text))
            XCTAssertGreaterThan(maxDifference(withUser, none), 1e-4, "non-zero tokens move the prediction")
        }
        XCTAssertThrowsError(try unet(x, timesteps: [10], context: text)) { error in
            XCTAssertEqual(error as? UNetInputError, .decoupledContext(length: 7, expected: 9))
            XCTAssertTrue("\(error)".contains("expects 9"), "\(error)")
        }
    }
}
