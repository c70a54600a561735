import Autograd
import Kernels
import NN

/// One up level: diffusers' `UpBlock2D` or `CrossAttnUpBlock2D`. Each ResNet takes the running map
/// concatenated (channels) with the next skip connection, newest first; a nearest ×2 upsampler follows
/// on every level but the last.
public final class UNetUpBlock: Module {
    public let resnets: [ResnetBlock2D]
    public let attentions: [Transformer2DModel]
    public let upsampler: Upsample2D?

    /// diffusers' channel bookkeeping: `prevOutputChannels` arrive from below, the last ResNet's skip comes
    /// from the down level's input (`inChannels`), the others' from its output (`outChannels`).
    init(inChannels: Int, outChannels: Int, prevOutputChannels: Int, layers: Int, crossAttention: Bool, heads: Int,
         contextDim: Int, timeEmbeddingDim: Int, groups: Int, eps: Float, addUpsample: Bool, rng: inout RNG) {
        var resnets: [ResnetBlock2D] = []
        var attentions: [Transformer2DModel] = []
        for i in 0..<layers {
            let skip = i == layers - 1 ? inChannels : outChannels
            let input = i == 0 ? prevOutputChannels : outChannels
            resnets.append(ResnetBlock2D(inChannels: input + skip, outChannels: outChannels,
                                         timeEmbeddingDim: timeEmbeddingDim, groups: groups, eps: eps, rng: &rng))
            if crossAttention {
                attentions.append(Transformer2DModel(channels: outChannels, heads: heads, contextDim: contextDim,
                                                     groups: groups, rng: &rng))
            }
        }
        self.resnets = resnets
        self.attentions = attentions
        upsampler = addUpsample ? Upsample2D(channels: outChannels, rng: &rng) : nil
    }

    public var children: [(String, any Module)] {
        var c: [(String, any Module)] = attentions.enumerated().map { ("attentions.\($0.offset)", $0.element) }
        c += resnets.enumerated().map { ("resnets.\($0.offset)", $0.element) }
        if let upsampler { c.append(("upsamplers.0", upsampler)) }
        return c
    }

    /// `skips`: this level's `resnets.count` skip connections in the order the down path made them.
    public func callAsFunction(_ x: Tensor, skips: ArraySlice<Tensor>, temb: Tensor, context: Tensor) -> Tensor {
        precondition(skips.count == resnets.count, "UNetUpBlock: \(skips.count) skips for \(resnets.count) ResNets")
        var h = x
        for (i, skip) in skips.reversed().enumerated() {
            h = resnets[i](concat([h, skip], axis: 1), temb: temb)
            if !attentions.isEmpty { h = attentions[i](h, context: context) }
        }
        if let upsampler { h = upsampler(h) }
        return h
    }
}
