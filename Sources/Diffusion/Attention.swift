import Autograd
import Kernels
import NN

/// diffusers' `Attention` as BasicTransformerBlock builds it: bias-free `to_q`/`to_k`/`to_v`, heads split inside
/// `scaledDotProductAttention` (scale 1/√headDim), and `to_out.0` with a bias (`to_out.1` is dropout, a no-op).
/// Self-attention without a context; cross-attention to the context tokens (any count L) with one.
public final class Attention: Module {
    public let heads: Int
    public let toQ: Linear
    public let toK: Linear
    public let toV: Linear
    public let toOut: Linear

    /// `contextDim` nil makes a self-attention layer (keys and values from the input itself).
    public init(queryDim: Int, contextDim: Int? = nil, heads: Int, headDim: Int, rng: inout RNG) {
        let inner = heads * headDim
        self.heads = heads
        toQ = Linear(queryDim, inner, bias: false, rng: &rng)
        toK = Linear(contextDim ?? queryDim, inner, bias: false, rng: &rng)
        toV = Linear(contextDim ?? queryDim, inner, bias: false, rng: &rng)
        toOut = Linear(inner, queryDim, rng: &rng)
    }

    public var children: [(String, any Module)] {
        [("to_q", toQ), ("to_k", toK), ("to_v", toV), ("to_out.0", toOut)]
    }

    /// x [B, Lq, queryDim], context [B, Lk, contextDim] → [B, Lq, queryDim].
    public func callAsFunction(_ x: Tensor, context: Tensor? = nil) -> Tensor {
        let source = context ?? x
        let attended = scaledDotProductAttention(query: toQ(x), key: toK(source), value: toV(source),
                                                 heads: heads, causal: false)
        return toOut(attended)
    }
}
