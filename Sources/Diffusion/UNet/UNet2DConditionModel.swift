import Autograd
import Kernels
import NN

/// diffusers' `UNet2DConditionModel` for pixel-space ε-prediction, with diffusers' parameter names
/// (`conv_in.weight`, `down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight`, …) so a
/// diffusers state dict of the same config loads unchanged.
///
/// The context is any number of tokens: the text encoder's, optionally followed by extra conditioning
/// tokens (`appendingTokens(_:to:)`), since cross-attention does not depend on the token count.
public final class UNet2DConditionModel: Module {
    public let config: UNetConfig
    public let convIn: Conv2d
    public let timeEmbedding: TimestepEmbedding
    public let downBlocks: [UNetDownBlock]
    public let midBlock: UNetMidBlock2DCrossAttn
    public let upBlocks: [UNetUpBlock]
    public let convNormOut: GroupNorm
    public let convOut: Conv2d
    /// Set by `attach`: the context length the decoupled branches expect (text tokens + their tokens).
    public private(set) var decoupledContextLength: Int?

    /// A network with torch's default initialisation (as diffusers builds it), drawn from `rng`.
    public init(config: UNetConfig, rng: inout RNG) throws {
        try config.validate()
        self.config = config
        let channels = config.blockOutChannels, levels = config.levels
        let groups = config.normNumGroups, eps = config.normEps, tembDim = config.timeEmbeddingDim
        convIn = Conv2d(config.inChannels, channels[0], kernelSize: 3, padding: 1, rng: &rng)
        timeEmbedding = TimestepEmbedding(inputDim: config.timestepFeatureDim, embeddingDim: tembDim, rng: &rng)

        var down: [UNetDownBlock] = []
        var input = channels[0]
        for level in 0..<levels {
            down.append(UNetDownBlock(inChannels: input, outChannels: channels[level], layers: config.layersPerBlock[level],
                                      crossAttention: config.downBlockTypes[level] == "CrossAttnDownBlock2D",
                                      heads: config.attentionHeadDim[level], contextDim: config.crossAttentionDim,
                                      timeEmbeddingDim: tembDim, groups: groups, eps: eps,
                                      addDownsample: level < levels - 1, downsamplePadding: config.downsamplePadding,
                                      rng: &rng))
            input = channels[level]
        }
        downBlocks = down

        midBlock = UNetMidBlock2DCrossAttn(channels: channels[levels - 1], heads: config.attentionHeadDim[levels - 1],
                                           contextDim: config.crossAttentionDim, timeEmbeddingDim: tembDim,
                                           groups: groups, eps: eps, rng: &rng)

        var up: [UNetUpBlock] = []
        let reversedChannels = Array(channels.reversed())
        var output = reversedChannels[0]
        for i in 0..<levels {
            let prevOutput = output
            output = reversedChannels[i]
            up.append(UNetUpBlock(inChannels: reversedChannels[min(i + 1, levels - 1)], outChannels: output,
                                  prevOutputChannels: prevOutput, layers: config.layersPerBlock[levels - 1 - i] + 1,
                                  crossAttention: config.upBlockTypes[i] == "CrossAttnUpBlock2D",
                                  heads: config.attentionHeadDim[levels - 1 - i], contextDim: config.crossAttentionDim,
                                  timeEmbeddingDim: tembDim, groups: groups, eps: eps, addUpsample: i < levels - 1,
                                  rng: &rng))
        }
        upBlocks = up

        convNormOut = GroupNorm(groups: groups, channels: channels[0], eps: eps)
        convOut = Conv2d(channels[0], config.outChannels, kernelSize: 3, padding: 1, rng: &rng)
    }

    public var children: [(String, any Module)] {
        var c: [(String, any Module)] = [("conv_in", convIn), ("time_embedding", timeEmbedding)]
        c += downBlocks.enumerated().map { ("down_blocks.\($0.offset)", $0.element) }
        c.append(("mid_block", midBlock))
        c += upBlocks.enumerated().map { ("up_blocks.\($0.offset)", $0.element) }
        c += [("conv_norm_out", convNormOut), ("conv_out", convOut)]
        return c
    }

    /// The predicted noise ε for `sample` [B, inChannels, H, W] (H, W multiples of 2^(levels−1)) at
    /// `timesteps` (B values, or one for the whole batch; fractional values allowed) given `context`
    /// [B, L, crossAttentionDim] for any L ≥ 1 → [B, outChannels, H, W].
    public func callAsFunction(_ sample: Tensor, timesteps: [Float], context: Tensor) throws -> Tensor {
        try checkInputs(sample, timesteps, context)
        let batch = sample.shape[0]
        let t = timesteps.count == 1 ? Array(repeating: timesteps[0], count: batch) : timesteps
        let features = sinusoidalTimestepFeatures(t, dim: config.timestepFeatureDim, flipSinToCos: config.flipSinToCos,
                                                  freqShift: config.freqShift)
        let temb = timeEmbedding(features)

        var h = convIn(sample)
        var skips = [h]
        for block in downBlocks {
            let (out, levelSkips) = block(h, temb: temb, context: context)
            h = out
            skips += levelSkips
        }
        h = midBlock(h, temb: temb, context: context)
        for block in upBlocks {
            let n = block.resnets.count
            h = block(h, skips: skips.suffix(n), temb: temb, context: context)
            skips.removeLast(n)
        }
        return convOut(convNormOut(h, thenSiLU: true))
    }

    /// `timesteps` as a tensor of B values (or one); it carries no gradient.
    public func callAsFunction(_ sample: Tensor, timesteps: Tensor, context: Tensor) throws -> Tensor {
        try self(sample, timesteps: timesteps.toArray(), context: context)
    }

    private func checkInputs(_ sample: Tensor, _ timesteps: [Float], _ context: Tensor) throws {
        let m = config.spatialMultiple
        guard sample.rank == 4, sample.shape[0] >= 1, sample.shape[1] == config.inChannels,
              sample.shape[2] > 0, sample.shape[3] > 0, sample.shape[2] % m == 0, sample.shape[3] % m == 0 else {
            throw UNetInputError.sample(shape: sample.shape, inChannels: config.inChannels, multiple: m)
        }
        let batch = sample.shape[0]
        guard timesteps.count == batch || timesteps.count == 1 else {
            throw UNetInputError.timestepCount(timesteps.count, batch: batch)
        }
        guard timesteps.allSatisfy(\.isFinite) else { throw UNetInputError.timestepNotFinite }
        guard context.rank == 3, context.shape[0] == batch, context.shape[1] >= 1,
              context.shape[2] == config.crossAttentionDim else {
            throw UNetInputError.context(shape: context.shape, batch: batch, dim: config.crossAttentionDim)
        }
        if let expected = decoupledContextLength, context.shape[1] != expected {
            throw UNetInputError.decoupledContext(length: context.shape[1], expected: expected)
        }
    }
}

extension UNet2DConditionModel {
    /// Gradient checkpointing (diffusers' `enable_gradient_checkpointing`): every transformer block keeps
    /// only its inputs during a training forward pass and runs again in the backward pass; gradients are the
    /// same, inference is unaffected. ResNet blocks are not checkpointed (unless the U-Net has no transformer
    /// block): selective recomputation (`SavedInput`) already keeps little of them beyond their inputs, and
    /// checkpointing them as well was slower and needed *more* memory (paired `bench model` runs, small sft:
    /// transformer blocks only 1.12× faster than every block, peak RSS 329 MB against 341; docs/PERFORMANCE.md).
    public var gradientCheckpointing: Bool {
        get {
            transformerBlocks.first?.recomputesInBackward ?? resnetBlocks.first?.recomputesInBackward ?? false
        }
        set {
            if transformerBlocks.isEmpty {
                for resnet in resnetBlocks { resnet.recomputesInBackward = newValue }
            }
            for transformer in transformerBlocks { transformer.recomputesInBackward = newValue }
        }
    }

    var resnetBlocks: [ResnetBlock2D] {
        downBlocks.flatMap(\.resnets) + midBlock.resnets + upBlocks.flatMap(\.resnets)
    }

    var transformerBlocks: [Transformer2DModel] {
        downBlocks.flatMap(\.attentions) + [midBlock.attention] + upBlocks.flatMap(\.attentions)
    }

    /// Every cross-attention layer (`attn2` of each transformer block), down blocks, mid block, up blocks.
    public var crossAttentionLayers: [Attention] {
        transformerBlocks.map(\.block.attn2)
    }

    /// The attached decoupled branches, one per cross-attention layer (empty when none).
    public var decoupledBranches: [DecoupledCrossAttention] { crossAttentionLayers.compactMap(\.decoupled) }

    /// Routes the last tokens of every context through `branches` (one per cross-attention layer, in
    /// `crossAttentionLayers` order). From then on every context must hold exactly `textLength` text tokens
    /// followed by the branches' tokens — all-zero ones for "no extra condition" — which `callAsFunction` checks.
    public func attach(_ branches: [DecoupledCrossAttention], textLength: Int) throws {
        let layers = crossAttentionLayers
        guard branches.count == layers.count else {
            throw UNetInputError.decoupledBranches("\(branches.count) decoupled branches for \(layers.count) cross-attention layers")
        }
        guard let m = branches.first?.tokenCount, branches.allSatisfy({ $0.tokenCount == m }), m >= 1, textLength >= 1 else {
            throw UNetInputError.decoupledBranches("decoupled branches need one token count ≥ 1 and text tokens")
        }
        for (i, (layer, branch)) in zip(layers, branches).enumerated() {
            guard branch.toK.inFeatures == config.crossAttentionDim, branch.toK.weight.shape == layer.toK.weight.shape,
                  branch.toV.weight.shape == layer.toV.weight.shape else {
                throw UNetInputError.decoupledBranches("branch \(i) has key/value weights \(branch.toK.weight.shape) / \(branch.toV.weight.shape) but cross-attention layer \(i) has \(layer.toK.weight.shape) / \(layer.toV.weight.shape)")
            }
        }
        for (layer, branch) in zip(layers, branches) { layer.decoupled = branch }
        decoupledContextLength = textLength + m
    }
}

extension UNet2DConditionModel {
    /// The conditioning hook: `extra` [B, E, D] tokens (e.g. user embeddings) placed after the text
    /// tokens `text` [B, L, D] → [B, L + E, D]. Differentiable in both.
    public static func appendingTokens(_ extra: Tensor, to text: Tensor) throws -> Tensor {
        guard text.rank == 3, text.shape[1] >= 1 else {
            throw UNetInputError.context(shape: text.shape, batch: text.shape.first ?? 0, dim: text.shape.last ?? 0)
        }
        guard extra.rank == 3, extra.shape[0] == text.shape[0], extra.shape[2] == text.shape[2] else {
            throw UNetInputError.extraTokens(shape: extra.shape, text: text.shape)
        }
        return concat([text, extra], axis: 1)
    }
}

public enum UNetInputError: Error, CustomStringConvertible, Equatable {
    case sample(shape: [Int], inChannels: Int, multiple: Int)
    case timestepCount(Int, batch: Int)
    case timestepNotFinite
    case context(shape: [Int], batch: Int, dim: Int)
    case extraTokens(shape: [Int], text: [Int])
    case decoupledContext(length: Int, expected: Int)
    case decoupledBranches(String)

    public var description: String {
        switch self {
        case .sample(let s, let c, let m):
            return "U-Net sample has shape \(s); pass [B, \(c), H, W] with B ≥ 1 and H, W positive multiples of \(m)"
        case .timestepCount(let n, let b):
            return "U-Net got \(n) timesteps for a batch of \(b); pass one per sample or one for all"
        case .timestepNotFinite:
            return "U-Net timesteps must be finite numbers (got NaN or infinity)"
        case .context(let s, let b, let d):
            return "U-Net context has shape \(s); pass [\(b), L, \(d)] (text encoder tokens, L ≥ 1)"
        case .extraTokens(let s, let t):
            return "extra conditioning tokens have shape \(s) for text tokens \(t); pass [\(t.first ?? 0), E, \(t.last ?? 0)]"
        case .decoupledContext(let n, let e):
            return "U-Net context has \(n) tokens but its decoupled cross-attention expects \(e) (text tokens, then the extra tokens; all-zero extra tokens for none)"
        case .decoupledBranches(let why):
            return "cannot attach decoupled cross-attention: \(why)"
        }
    }
}
