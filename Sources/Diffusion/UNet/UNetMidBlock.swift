import Autograd
import Kernels
import NN

/// diffusers' `UNetMidBlock2DCrossAttn` at the lowest resolution: ResNet, Transformer2DModel, ResNet.
public final class UNetMidBlock2DCrossAttn: Module {
    public let resnets: [ResnetBlock2D]
    public let attention: Transformer2DModel

    init(channels: Int, heads: Int, contextDim: Int, timeEmbeddingDim: Int, groups: Int, eps: Float, rng: inout RNG) {
        let first = ResnetBlock2D(inChannels: channels, outChannels: channels, timeEmbeddingDim: timeEmbeddingDim,
                                  groups: groups, eps: eps, rng: &rng)
        attention = Transformer2DModel(channels: channels, heads: heads, contextDim: contextDim, groups: groups, rng: &rng)
        let second = ResnetBlock2D(inChannels: channels, outChannels: channels, timeEmbeddingDim: timeEmbeddingDim,
                                   groups: groups, eps: eps, rng: &rng)
        resnets = [first, second]
    }

    public var children: [(String, any Module)] {
        [("attentions.0", attention), ("resnets.0", resnets[0]), ("resnets.1", resnets[1])]
    }

    public func callAsFunction(_ x: Tensor, temb: Tensor, context: Tensor) -> Tensor {
        let h = resnets[0](x, temb: temb)
        return resnets[1](attention(h, context: context), temb: temb)
    }
}
