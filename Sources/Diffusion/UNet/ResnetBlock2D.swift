import Autograd
import Kernels
import NN

/// diffusers' `ResnetBlock2D` (time_embedding_norm "default", output scale 1):
/// h = conv1(SiLU(norm1(x))) + time_emb_proj(SiLU(temb)); h = conv2(SiLU(norm2(h))); out = shortcut(x) + h,
/// where the shortcut is a 1×1 conv when the channel count changes.
public final class ResnetBlock2D: Module {
    public let norm1: GroupNorm
    public let conv1: Conv2d
    public let timeEmbProj: Linear
    public let norm2: GroupNorm
    public let conv2: Conv2d
    public let convShortcut: Conv2d?
    /// Keep only x and temb for the backward pass and recompute the block there (gradient checkpointing).
    public var recomputesInBackward = false

    public init(inChannels: Int, outChannels: Int, timeEmbeddingDim: Int, groups: Int, eps: Float, rng: inout RNG) {
        norm1 = GroupNorm(groups: groups, channels: inChannels, eps: eps)
        conv1 = Conv2d(inChannels, outChannels, kernelSize: 3, padding: 1, rng: &rng)
        timeEmbProj = Linear(timeEmbeddingDim, outChannels, rng: &rng)
        norm2 = GroupNorm(groups: groups, channels: outChannels, eps: eps)
        conv2 = Conv2d(outChannels, outChannels, kernelSize: 3, padding: 1, rng: &rng)
        convShortcut = inChannels == outChannels ? nil : Conv2d(inChannels, outChannels, kernelSize: 1, rng: &rng)
    }

    public var children: [(String, any Module)] {
        var c: [(String, any Module)] = [("norm1", norm1), ("conv1", conv1), ("time_emb_proj", timeEmbProj),
                                         ("norm2", norm2), ("conv2", conv2)]
        if let convShortcut { c.append(("conv_shortcut", convShortcut)) }
        return c
    }

    /// x [B, Cin, H, W], temb [B, timeEmbeddingDim] (before its SiLU) → [B, Cout, H, W].
    public func callAsFunction(_ x: Tensor, temb: Tensor) -> Tensor {
        guard recomputesInBackward else { return forward(x, temb: temb) }
        return recomputingInBackward([x, temb], parameters: parameters()) { [unowned self] in
            self.forward($0[0], temb: $0[1])
        }
    }

    private func forward(_ x: Tensor, temb: Tensor) -> Tensor {
        var h = conv1(norm1(x, thenSiLU: true))
        let t = timeEmbProj(silu(temb))
        h = h + t.reshaped([t.shape[0], t.shape[1], 1, 1])
        h = conv2(norm2(h, thenSiLU: true))
        return (convShortcut?(x) ?? x) + h
    }
}
