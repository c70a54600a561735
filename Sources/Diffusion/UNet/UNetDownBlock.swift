import Autograd
import Kernels
import NN

/// One down level: diffusers' `DownBlock2D` (ResNets only) or `CrossAttnDownBlock2D` (a Transformer2DModel
/// after each ResNet), then a stride-2 downsampler on every level but the last.
public final class UNetDownBlock: Module {
    public let resnets: [ResnetBlock2D]
    public let attentions: [Transformer2DModel]
    public let downsampler: Downsample2D?

    init(inChannels: Int, outChannels: Int, layers: Int, crossAttention: Bool, heads: Int, contextDim: Int,
         timeEmbeddingDim: Int, groups: Int, eps: Float, addDownsample: Bool, downsamplePadding: Int, rng: inout RNG) {
        var resnets: [ResnetBlock2D] = []
        var attentions: [Transformer2DModel] = []
        for i in 0..<layers {
            resnets.append(ResnetBlock2D(inChannels: i == 0 ? inChannels : outChannels, outChannels: outChannels,
                                         timeEmbeddingDim: timeEmbeddingDim, groups: groups, eps: eps, rng: &rng))
            if crossAttention {
                attentions.append(Transformer2DModel(channels: outChannels, heads: heads, contextDim: contextDim,
                                                     groups: groups, rng: &rng))
            }
        }
        self.resnets = resnets
        self.attentions = attentions
        downsampler = addDownsample ? Downsample2D(channels: outChannels, padding: downsamplePadding, rng: &rng) : nil
    }

    public var children: [(String, any Module)] {
        var c: [(String, any Module)] = attentions.enumerated().map { ("attentions.\($0.offset)", $0.element) }
        c += resnets.enumerated().map { ("resnets.\($0.offset)", $0.element) }
        if let downsampler { c.append(("downsamplers.0", downsampler)) }
        return c
    }

    /// Returns the level's output and its skip connections for the up path: each ResNet(+attention)
    /// output, then the downsampled map.
    public func callAsFunction(_ x: Tensor, temb: Tensor, context: Tensor) -> (Tensor, [Tensor]) {
        var h = x
        var skips: [Tensor] = []
        for (i, resnet) in resnets.enumerated() {
            h = resnet(h, temb: temb)
            if !attentions.isEmpty { h = attentions[i](h, context: context) }
            skips.append(h)
        }
        if let downsampler {
            h = downsampler(h)
            skips.append(h)
        }
        return (h, skips)
    }
}
