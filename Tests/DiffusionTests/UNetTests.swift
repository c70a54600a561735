import Autograd
import Foundation
import Kernels
import NN
import XCTest
import Diffusion

/// The U-Net and text encoder as modules: sizes and names against diffusers/transformers, timestep features,
/// input validation, initialisation, state dicts, and finite-difference gradients of the composite blocks.
/// Numeric parity with PyTorch is in ParityTests.
final class UNetTests: XCTestCase {
    /// Every block type at toy width (8 groups of 1–2 channels, 4 heads).
    private static let toy = UNetConfig(blockOutChannels: [8, 16, 16], attentionHeadDim: 4, crossAttentionDim: 12,
                                        normNumGroups: 4)

    private func toyUNet(seed: UInt64 = 1) throws -> UNet2DConditionModel {
        var rng = RNG(seed: seed)
        return try UNet2DConditionModel(config: Self.toy, rng: &rng)
    }

    // MARK: Sizes and names

    func testParameterCountsMatchTheBenchModels() throws {
        // count_params(models.make_unet(v)), count_params(models.make_text_encoder(v)) in ../shared/bench/models.py
        var rng = RNG(seed: 0)
        XCTAssertEqual(try UNet2DConditionModel(config: .tiny, rng: &rng).parameterCount, 1_744_419)
        XCTAssertEqual(try UNet2DConditionModel(config: .small, rng: &rng).parameterCount, 6_714_435)
        XCTAssertEqual(try TextEncoder(config: .tiny, rng: &rng).parameterCount, 440_320)
        XCTAssertEqual(try TextEncoder(config: .small, rng: &rng).parameterCount, 638_592)
    }

    func testDiffusersParameterNamesAndShapes() throws {
        var rng = RNG(seed: 0)
        let params = Dictionary(uniqueKeysWithValues: try UNet2DConditionModel(config: .tiny, rng: &rng)
            .namedParameters().map { ($0.0, $0.1.shape) })
        // Shapes from models.make_unet("tiny").state_dict().
        let expected: [String: [Int]] = [
            "conv_in.weight": [32, 3, 3, 3],
            "time_embedding.linear_1.weight": [128, 32],
            "time_embedding.linear_2.bias": [128],
            "down_blocks.0.resnets.0.time_emb_proj.weight": [32, 128],
            "down_blocks.0.downsamplers.0.conv.weight": [32, 32, 3, 3],
            "down_blocks.1.resnets.0.conv_shortcut.weight": [64, 32, 1, 1],
            "down_blocks.1.attentions.0.proj_in.weight": [64, 64, 1, 1],
            "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight": [64, 128],
            "down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_out.0.bias": [64],
            "down_blocks.2.attentions.0.transformer_blocks.0.ff.net.0.proj.weight": [512, 64],
            "down_blocks.2.attentions.0.transformer_blocks.0.ff.net.2.weight": [64, 256],
            "mid_block.attentions.0.transformer_blocks.0.norm3.weight": [64],
            "mid_block.resnets.1.conv2.weight": [64, 64, 3, 3],
            "up_blocks.0.resnets.1.conv_shortcut.weight": [64, 128, 1, 1],
            "up_blocks.0.upsamplers.0.conv.weight": [64, 64, 3, 3],
            "up_blocks.1.resnets.1.conv1.weight": [64, 96, 3, 3],
            "up_blocks.1.attentions.1.proj_out.weight": [64, 64, 1, 1],
            "up_blocks.2.resnets.0.conv_shortcut.weight": [32, 96, 1, 1],
            "up_blocks.2.resnets.1.norm1.weight": [64],
            "conv_norm_out.weight": [32],
            "conv_out.weight": [3, 32, 3, 3],
        ]
        for (name, shape) in expected { XCTAssertEqual(params[name], shape, name) }
        XCTAssertEqual(params.count, 324)  // len(models.make_unet("tiny").state_dict())
        XCTAssertNil(params["up_blocks.2.upsamplers.0.conv.weight"])
        XCTAssertNil(params["up_blocks.2.attentions.0.norm.weight"])
        XCTAssertNil(params["down_blocks.2.downsamplers.0.conv.weight"])
        XCTAssertNil(params["down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q.bias"])

        let text = Dictionary(uniqueKeysWithValues: try TextEncoder(config: .tiny, rng: &rng)
            .namedParameters().map { ($0.0, $0.1.shape) })
        XCTAssertEqual(text.count, 36)  // len(make_text_encoder("tiny").state_dict()) without position_ids
        XCTAssertEqual(text["text_model.embeddings.token_embedding.weight"], [260, 128])
        XCTAssertEqual(text["text_model.embeddings.position_embedding.weight"], [80, 128])
        XCTAssertEqual(text["text_model.encoder.layers.1.self_attn.q_proj.bias"], [128])
        XCTAssertEqual(text["text_model.encoder.layers.0.mlp.fc1.weight"], [512, 128])
        XCTAssertEqual(text["text_model.final_layer_norm.weight"], [128])
    }

    // MARK: Timesteps

    func testSinusoidalTimestepFeaturesMatchDiffusers() {
        // diffusers.models.embeddings.get_timestep_embedding(torch.tensor([0., 1., 999.5]), 8,
        //     flip_sin_to_cos=True, downscale_freq_shift=0)
        let a = sinusoidalTimestepFeatures([0, 1, 999.5], dim: 8, flipSinToCos: true, freqShift: 0).toArray()
        let expectedA: [Float] = [
            1, 1, 1, 1, 0, 0, 0, 0,
            0.5403023362159729, 0.9950041770935059, 0.9999499917030334, 0.9999995231628418,
            0.8414709568023682, 0.0998334139585495, 0.009999833069741726, 0.0009999998146668077,
            0.8899612426757812, 0.8359317779541016, -0.8417811989784241, 0.5407230257987976,
            0.45603618025779724, -0.5488333702087402, -0.5398188829421997, 0.8412006497383118,
        ]
        for (x, y) in zip(a, expectedA) { XCTAssertEqual(x, y, accuracy: 2e-6) }
        // get_timestep_embedding(torch.tensor([3., 250.25]), 6, flip_sin_to_cos=False, downscale_freq_shift=1)
        let b = sinusoidalTimestepFeatures([3, 250.25], dim: 6, flipSinToCos: false, freqShift: 1).toArray()
        let expectedB: [Float] = [
            0.14112000167369843, 0.029995499178767204, 0.0002999999560415745,
            -0.9899924993515015, 0.9995500445365906, 0.9999999403953552,
            -0.8807352185249329, 0.5964673757553101, 0.025022385641932487,
            0.4736090302467346, -0.8026373386383057, 0.9996868968009949,
        ]
        for (x, y) in zip(b, expectedB) { XCTAssertEqual(x, y, accuracy: 2e-6) }
    }

    // MARK: Forward

    func testForwardShapesAndVariableContextLength() throws {
        let unet = try toyUNet()
        var rng = RNG(seed: 5)
        let x = Tensor.randn([2, 3, 16, 16], rng: &rng)
        let text = Tensor.randn([2, 7, 12], rng: &rng)
        let user = Tensor.randn([2, 2, 12], rng: &rng)
        let (plain, personalised, oneStep) = try GradMode.withoutGrad {
            let plain = try unet(x, timesteps: [10, 500], context: text)
            let personalised = try unet(x, timesteps: [10, 500], context: UNet2DConditionModel.appendingTokens(user, to: text))
            let oneStep = try unet(x, timesteps: [10], context: text)  // one timestep for the whole batch
            return (plain, personalised, oneStep)
        }
        XCTAssertEqual(plain.shape, [2, 3, 16, 16])
        XCTAssertEqual(personalised.shape, [2, 3, 16, 16])
        XCTAssertTrue(plain.toArray().allSatisfy(\.isFinite))
        // The extra tokens are attended to: the prediction moves.
        let moved = zip(plain.toArray(), personalised.toArray()).map { abs($0 - $1) }.max() ?? 0
        XCTAssertGreaterThan(moved, 1e-4)
        // Sample 0 saw t = 10 in both calls; sample 1 saw 500 then 10.
        let per = 3 * 16 * 16
        XCTAssertEqual(Array(plain.toArray()[..<per]), Array(oneStep.toArray()[..<per]))
        XCTAssertNotEqual(Array(plain.toArray()[per...]), Array(oneStep.toArray()[per...]))
    }

    func testInputErrorsSayWhatToPass() throws {
        let unet = try toyUNet()
        let ctx = Tensor(zeros: [1, 4, 12])
        func check(_ body: () throws -> Tensor, _ expected: UNetInputError, line: UInt = #line) {
            XCTAssertThrowsError(try body(), line: line) { error in
                XCTAssertEqual(error as? UNetInputError, expected, line: line)
                XCTAssertFalse("\(error)".isEmpty, line: line)
            }
        }
        check({ try unet(Tensor(zeros: [1, 4, 8, 8]), timesteps: [1], context: ctx) },
              .sample(shape: [1, 4, 8, 8], inChannels: 3, multiple: 4))
        check({ try unet(Tensor(zeros: [1, 3, 6, 8]), timesteps: [1], context: ctx) },
              .sample(shape: [1, 3, 6, 8], inChannels: 3, multiple: 4))
        check({ try unet(Tensor(zeros: [3, 8, 8]), timesteps: [1], context: ctx) },
              .sample(shape: [3, 8, 8], inChannels: 3, multiple: 4))
        check({ try unet(Tensor(zeros: [1, 3, 8, 8]), timesteps: [1, 2], context: ctx) }, .timestepCount(2, batch: 1))
        check({ try unet(Tensor(zeros: [1, 3, 8, 8]), timesteps: [.nan], context: ctx) }, .timestepNotFinite)
        check({ try unet(Tensor(zeros: [1, 3, 8, 8]), timesteps: [1], context: Tensor(zeros: [1, 4, 10])) },
              .context(shape: [1, 4, 10], batch: 1, dim: 12))
        check({ try unet(Tensor(zeros: [1, 3, 8, 8]), timesteps: [1], context: Tensor(zeros: [2, 4, 12])) },
              .context(shape: [2, 4, 12], batch: 1, dim: 12))
        check({ try UNet2DConditionModel.appendingTokens(Tensor(zeros: [1, 2, 5]), to: ctx) },
              .extraTokens(shape: [1, 2, 5], text: [1, 4, 12]))
        var bad = Self.toy
        bad.normNumGroups = 5
        var rng = RNG(seed: 0)
        XCTAssertThrowsError(try UNet2DConditionModel(config: bad, rng: &rng)) { error in
            XCTAssertTrue("\(error)".contains("norm_num_groups"), "\(error)")
        }
    }

    func testTextEncoderInputErrors() throws {
        var rng = RNG(seed: 0)
        let config = TextEncoderConfig(vocabSize: 260, hiddenSize: 8, intermediateSize: 16, numHiddenLayers: 1,
                                       numAttentionHeads: 2, maxPositionEmbeddings: 6)
        let encoder = try TextEncoder(config: config, rng: &rng)
        let ok = try encoder(ByteTokenizer(length: 6).encode(["ab", "c"]))
        XCTAssertEqual(ok.shape, [2, 6, 8])
        XCTAssertThrowsError(try encoder(ByteTokenizer().encode(["too long for six positions"]))) { error in
            XCTAssertEqual(error as? TextEncoderError, .sequenceLength(80, max: 6))
        }
        XCTAssertThrowsError(try encoder(ByteTokenizer(length: 4).encode([]))) { error in
            XCTAssertEqual(error as? TextEncoderError, .emptyBatch)
        }
        var smallVocab = config
        smallVocab.vocabSize = 100
        let narrow = try TextEncoder(config: smallVocab, rng: &rng)
        XCTAssertThrowsError(try narrow(ByteTokenizer(length: 4).encode(["a"]))) { error in
            XCTAssertEqual(error as? TextEncoderError, .tokenOutOfVocabulary(256, vocabularySize: 100))
            XCTAssertTrue("\(error)".contains("vocabulary of 100"))
        }
    }

    // MARK: Initialisation and state

    func testTorchDefaultInitialisation() throws {
        let unet = try toyUNet()
        for (name, p) in unet.namedParameters() {
            XCTAssertTrue(p.requiresGrad, name)
            let v = p.toArray()
            if name.contains("norm") {
                XCTAssertTrue(v.allSatisfy { $0 == (name.hasSuffix("weight") ? 1 : 0) }, name)
            } else {
                // kaiming_uniform(a=√5) and the bias: U(−1/√fan_in, 1/√fan_in), fan_in = in·k² (shape[1…]).
                let fanIn = name.hasSuffix("bias")
                    ? try XCTUnwrap(unet.stateDict()[String(name.dropLast(4)) + "weight"]).shape.dropFirst().reduce(1, *)
                    : p.shape.dropFirst().reduce(1, *)
                let bound = 1 / Float(fanIn).squareRoot()
                XCTAssertLessThanOrEqual(v.map(abs).max() ?? 0, bound, name)
                if v.count >= 64 { XCTAssertGreaterThan(v.map(abs).max() ?? 0, 0.8 * bound, name) }
            }
        }
        // transformers' CLIP init: embeddings N(0, 0.02²), zero biases.
        var rng = RNG(seed: 3)
        let text = try TextEncoder(config: .tiny, rng: &rng)
        let emb = text.tokenEmbedding.weight.toArray()
        let std = (emb.map { Double($0 * $0) }.reduce(0, +) / Double(emb.count)).squareRoot()
        XCTAssertEqual(std, 0.02, accuracy: 0.001)
        XCTAssertTrue(try XCTUnwrap(text.layers[0].qProj.bias).toArray().allSatisfy { $0 == 0 })
    }

    func testSameSeedSameWeightsAndStateDictRoundTrip() throws {
        let a = try toyUNet(seed: 7), b = try toyUNet(seed: 7), c = try toyUNet(seed: 8)
        XCTAssertEqual(a.parameters().flatMap { $0.toArray() }, b.parameters().flatMap { $0.toArray() })
        XCTAssertNotEqual(a.parameters().flatMap { $0.toArray() }, c.parameters().flatMap { $0.toArray() })
        try c.load(stateDict: a.stateDict())
        var rng = RNG(seed: 1)
        let x = Tensor.randn([1, 3, 8, 8], rng: &rng), ctx = Tensor.randn([1, 3, 12], rng: &rng)
        let (ya, yc) = try GradMode.withoutGrad {
            (try a(x, timesteps: [3], context: ctx), try c(x, timesteps: [3], context: ctx))
        }
        XCTAssertEqual(ya.toArray(), yc.toArray())
    }

    func testTextEncoderLoadsStateDictsWithOrWithoutPrefix() throws {
        var rng = RNG(seed: 0)
        let config = TextEncoderConfig(hiddenSize: 8, intermediateSize: 16, numHiddenLayers: 1, numAttentionHeads: 2)
        let source = try TextEncoder(config: config, rng: &rng), target = try TextEncoder(config: config, rng: &rng)
        // transformers 5 writes CLIPTextModel keys without `text_model.` and may keep the position_ids buffer.
        var bare = Dictionary(uniqueKeysWithValues: source.stateDict().map {
            (String($0.key.dropFirst(TextEncoder.prefix.count)), $0.value)
        })
        bare["embeddings.position_ids"] = Tensor(zeros: [1, 80])
        try target.load(transformersStateDict: bare)
        XCTAssertEqual(target.parameters().flatMap { $0.toArray() }, source.parameters().flatMap { $0.toArray() })
        bare["embeddings.token_embedding.weight"] = Tensor(zeros: [10, 8])
        XCTAssertThrowsError(try target.load(transformersStateDict: bare)) { error in
            XCTAssertTrue("\(error)".contains("text_model.embeddings.token_embedding.weight"), "\(error)")
        }
    }

    // MARK: Gradients of the composite blocks (finite differences)

    func testResnetBlockGradient() {
        var rng = RNG(seed: 11)
        let block = ResnetBlock2D(inChannels: 4, outChannels: 6, timeEmbeddingDim: 5, groups: 2, eps: 1e-5, rng: &rng)
        let x = Tensor.randn([2, 4, 3, 3], rng: &rng), temb = Tensor.randn([2, 5], rng: &rng)
        let r = GradientCheck.run([x, temb, block.timeEmbProj.weight, block.norm1.bias]) {
            block($0[0], temb: $0[1])
        }
        XCTAssertLessThan(r.maxError, 1e-2, "\(r)")
    }

    func testTransformer2DGradient() {
        var rng = RNG(seed: 12)
        let t = Transformer2DModel(channels: 4, heads: 2, contextDim: 3, groups: 2, rng: &rng)
        let x = Tensor.randn([1, 4, 2, 3], rng: &rng), ctx = Tensor.randn([1, 2, 3], rng: &rng)
        let r = GradientCheck.run([x, ctx, t.block.attn2.toK.weight, t.block.ff.geluProj.weight]) {
            t($0[0], context: $0[1])
        }
        XCTAssertLessThan(r.maxError, 1e-2, "\(r)")
    }

    /// Gradient checkpointing recomputes the transformer blocks in backward: same output, same input, context
    /// and parameter gradients (up to summation order), and less tensor memory kept between the passes (in
    /// this toy the ResNet blocks set the peak, which the fused feed-forward and rebuilt projections already
    /// lowered; `bench model` measures the peaks of the real configs, docs/PERFORMANCE.md).
    func testGradientCheckpointingGivesTheSameGradientsWithLessMemory() throws {
        var rng = RNG(seed: 14)
        let x = Tensor.randn([2, 3, 16, 16], rng: &rng), text = Tensor.randn([2, 7, 12], rng: &rng)
        let g = Tensor.randn([2, 3, 16, 16], rng: &rng)
        func run(checkpointing: Bool) throws -> (values: [String: [Float]], kept: Int) {
            let unet = try toyUNet()
            unet.setRequiresGrad(true)
            unet.gradientCheckpointing = checkpointing
            XCTAssertEqual(unet.gradientCheckpointing, checkpointing)
            let (xi, ti) = (x.copy(), text.copy())
            xi.requiresGrad = true
            ti.requiresGrad = true
            let base = Storage.liveBytes
            let y = try unet(xi, timesteps: [10, 700], context: ti)
            let kept = Storage.liveBytes - base
            y.backward(g)
            var values = ["y": y.toArray(), "dx": try XCTUnwrap(xi.grad).toArray(), "dcontext": try XCTUnwrap(ti.grad).toArray()]
            for (name, p) in unet.namedParameters() { values[name] = try XCTUnwrap(p.grad, name).toArray() }
            return (values, kept)
        }
        let plain = try run(checkpointing: false), recomputed = try run(checkpointing: true)
        XCTAssertEqual(Set(plain.values.keys), Set(recomputed.values.keys))
        for (name, expected) in plain.values {
            let actual = try XCTUnwrap(recomputed.values[name])
            let scale = Double(expected.map { abs($0) }.max() ?? 0)
            for (a, e) in zip(actual, expected) {
                XCTAssertEqual(Double(a), Double(e), accuracy: 1e-5 * max(scale, 1e-3), name)
            }
        }
        XCTAssertLessThan(Double(recomputed.kept), 0.8 * Double(plain.kept),
                          "tensor bytes kept for backward: \(recomputed.kept) with checkpointing, \(plain.kept) without")
    }

    func testTextEncoderLayerGradient() throws {
        var rng = RNG(seed: 13)
        let config = TextEncoderConfig(hiddenSize: 8, intermediateSize: 16, numHiddenLayers: 1, numAttentionHeads: 2)
        let layer = TextEncoderLayer(config: config, rng: &rng)
        let h = Tensor.randn([2, 3, 8], rng: &rng)
        let r = GradientCheck.run([h, layer.qProj.weight, try XCTUnwrap(layer.fc1.bias)]) { layer($0[0]) }
        XCTAssertLessThan(r.maxError, 1e-2, "\(r)")
    }
}
