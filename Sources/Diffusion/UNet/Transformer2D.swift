import Autograd
import Kernels
import NN

/// diffusers' `Transformer2DModel` on continuous inputs with 1×1-conv projections (use_linear_projection
/// false) and one transformer block: the feature map becomes H·W tokens that attend to themselves and
/// to the context, and the result is added back to the input.
public final class Transformer2DModel: Module {
    public let norm: GroupNorm
    public let projIn: Conv2d
    public let block: BasicTransformerBlock
    public let projOut: Conv2d
    /// Keep only x and the context for the backward pass and recompute the block there (gradient checkpointing).
    public var recomputesInBackward = false

    /// `channels` = heads · headDim (diffusers' inner_dim equals the block's channels here).
    public init(channels: Int, heads: Int, contextDim: Int, groups: Int, rng: inout RNG) {
        norm = GroupNorm(groups: groups, channels: channels, eps: 1e-6)
        projIn = Conv2d(channels, channels, kernelSize: 1, rng: &rng)
        block = BasicTransformerBlock(dim: channels, heads: heads, headDim: channels / heads, contextDim: contextDim, rng: &rng)
        projOut = Conv2d(channels, channels, kernelSize: 1, rng: &rng)
    }

    public var children: [(String, any Module)] {
        [("norm", norm), ("proj_in", projIn), ("transformer_blocks.0", block), ("proj_out", projOut)]
    }

    /// x [B, C, H, W], context [B, L, contextDim] → [B, C, H, W].
    public func callAsFunction(_ x: Tensor, context: Tensor) -> Tensor {
        guard recomputesInBackward else { return forward(x, context: context) }
        return recomputingInBackward([x, context], parameters: parameters()) { [unowned self] in
            self.forward($0[0], context: $0[1])
        }
    }

    private func forward(_ x: Tensor, context: Tensor) -> Tensor {
        let (b, c, height, width) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let h = projIn(norm(x))
        let tokens = h.permuted([0, 2, 3, 1]).reshaped([b, height * width, c])
        let attended = block(tokens, context: context)
        let map = attended.reshaped([b, height, width, c]).permuted([0, 3, 1, 2])
        return projOut(map) + x
    }
}
