import Autograd
import Kernels
import NN

/// The scorer's image tower (`vision_model.` in the state dict): a conv/GroupNorm/SiLU stem at full
/// resolution, stride-2 stages, a global average pool and a final LayerNorm (CLIP's `post_layernorm`).
///
///     embeddings.conv, embeddings.norm         3(+2 coords) → stem, 3×3 stride 1
///     stages.i.downsample, .downsample_norm    3×3 stride 2
///     stages.i.conv, .norm                     3×3 stride 1, added back (residual)
///     detail.conv                              3 → detail_channels, 3×3, no padding, no bias (high-pass)
///     post_layernorm                           on the pooled [N, hidden] feature (the last stage's
///                                              average pool, with stem_pooling the stem's before its norm,
///                                              and the detail branch's mean log energies)
public final class ImageEncoder: Module {
    public let config: ImageEncoderConfig
    let stemConv: Conv2d
    let stemNorm: GroupNorm
    let stages: [ImageEncoderStage]
    let detailConv: Conv2d?
    let postLayerNorm: LayerNorm
    /// The energy scale of the detail branch on pixels in [−1, 1]: a flat region gives 0, Shapes noise
    /// (σ ≤ 0.12 here) gives about 0.1–2, a strong edge about 7.
    static let detailEnergyEps: Float = 1e-3

    public init(config: ImageEncoderConfig, rng: inout RNG) {
        self.config = config
        let inputs = config.numChannels + (config.coordinateChannels ? 2 : 0)
        stemConv = Conv2d(inputs, config.stemChannels, kernelSize: 3, stride: 1, padding: 1, rng: &rng)
        stemNorm = GroupNorm(groups: config.normGroups, channels: config.stemChannels)
        var stages: [ImageEncoderStage] = []
        var channels = config.stemChannels
        for out in config.stageChannels {
            stages.append(ImageEncoderStage(channels, out, groups: config.normGroups, rng: &rng))
            channels = out
        }
        self.stages = stages
        detailConv = config.detailChannels > 0 ? Self.highPassConv(config.detailChannels, rng: &rng) : nil
        postLayerNorm = LayerNorm(config.hiddenSize, eps: config.layerNormEps)
    }

    public var children: [(String, any Module)] {
        [("embeddings.conv", stemConv), ("embeddings.norm", stemNorm)]
            + stages.enumerated().map { ("stages.\($0.offset)", $0.element) }
            + (detailConv.map { [("detail.conv", $0)] } ?? [])
            + [("post_layernorm", postLayerNorm)]
    }

    /// [N, 3, S, S] pixels in [−1, 1] → [N, hidden].
    public func callAsFunction(_ pixels: Tensor) -> Tensor {
        var x = pixels
        if config.coordinateChannels { x = concat([pixels, Self.coordinates(batch: pixels.shape[0], size: pixels.shape[2])], axis: 1) }
        let stem = stemConv(x)
        var h = stemNorm(stem, thenSiLU: true)
        for stage in stages { h = stage(h) }
        var pooled = Self.averagePool(h)
        if config.stemPooling { pooled = concat([pooled, Self.averagePool(silu(stem))], axis: 1) }
        if let detailConv {
            pooled = concat([pooled, Self.averagePool(logEnergy(detailConv(pixels), eps: Self.detailEnergyEps))], axis: 1)
        }
        return postLayerNorm(pooled)
    }

    /// torch's initialisation with each 3×3 kernel made zero-mean per input channel, so every filter
    /// starts blind to flat colour (a high-pass filter) and measures texture from the first step.
    static func highPassConv(_ channels: Int, rng: inout RNG) -> Conv2d {
        let conv = Conv2d(3, channels, kernelSize: 3, stride: 1, padding: 0, bias: false, rng: &rng)
        let w = conv.weight.data
        for k in 0..<(channels * 3) {
            let kernel = w + k * 9
            var mean: Float = 0
            for i in 0..<9 { mean += kernel[i] }
            mean /= 9
            for i in 0..<9 { kernel[i] -= mean }
        }
        return conv
    }

    /// [N, C, H, W] → [N, C].
    static func averagePool(_ x: Tensor) -> Tensor {
        mean(x.reshaped([x.shape[0], x.shape[1], x.shape[2] * x.shape[3]]), axis: 2)
    }

    /// [N, 2, S, S]: x then y of each pixel centre, from −1 (left/top) to 1 (right/bottom). The user
    /// encoder's stem takes the same channels.
    public static func coordinates(batch: Int, size: Int) -> Tensor {
        let plane = size * size
        let t = Tensor.uninitialized([batch, 2, size, size])
        let step: Float = size > 1 ? 2 / Float(size - 1) : 0
        for n in 0..<batch {
            let base = t.data + n * 2 * plane
            for y in 0..<size {
                for x in 0..<size {
                    base[y * size + x] = -1 + step * Float(x)
                    base[plane + y * size + x] = -1 + step * Float(y)
                }
            }
        }
        return t
    }
}

/// One stride-2 stage: downsample conv → GroupNorm → SiLU, then a residual conv → GroupNorm → SiLU.
final class ImageEncoderStage: Module {
    let downsample: Conv2d
    let downsampleNorm: GroupNorm
    let conv: Conv2d
    let norm: GroupNorm

    init(_ inChannels: Int, _ outChannels: Int, groups: Int, rng: inout RNG) {
        downsample = Conv2d(inChannels, outChannels, kernelSize: 3, stride: 2, padding: 1, rng: &rng)
        downsampleNorm = GroupNorm(groups: groups, channels: outChannels)
        conv = Conv2d(outChannels, outChannels, kernelSize: 3, stride: 1, padding: 1, rng: &rng)
        norm = GroupNorm(groups: groups, channels: outChannels)
    }

    var children: [(String, any Module)] {
        [("downsample", downsample), ("downsample_norm", downsampleNorm), ("conv", conv), ("norm", norm)]
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let h = downsampleNorm(downsample(x), thenSiLU: true)
        return h + norm(conv(h), thenSiLU: true)
    }
}
