import Autograd
import Kernels
import NN

/// diffusers' `Attention` as BasicTransformerBlock builds it: bias-free `to_q`/`to_k`/`to_v`, heads split inside
/// `scaledDotProductAttention` (scale 1/√headDim), and `to_out.0` with a bias (`to_out.1` is dropout, a no-op).
/// Self-attention without a context; cross-attention to the context tokens (any count L) with one. The query, key
/// and value projections are redone in backward rather than kept (three narrow GEMMs for 3·dim floats a token).
public final class Attention: Module {
    public let heads: Int
    public let toQ: Linear
    public let toK: Linear
    public let toV: Linear
    public let toOut: Linear
    /// Cross-attention only: a decoupled branch for the context's last tokens (`UNet2DConditionModel.attach`).
    public internal(set) var decoupled: DecoupledCrossAttention?

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

    /// x [B, Lq, queryDim], context [B, Lk, contextDim] → [B, Lq, queryDim]; through the attached decoupled
    /// branch when there is one (the U-Net checks the context's length).
    public func callAsFunction(_ x: Tensor, context: Tensor? = nil) -> Tensor {
        if let branch = decoupled, let context { return self(x, context: context, decoupled: branch) }
        let source = context ?? x
        return toOut(scaledDotProductAttention(query: toQ(x, recomputedInBackward: true), key: toK(source, recomputedInBackward: true),
                                               value: toV(source, recomputedInBackward: true), heads: heads, causal: false))
    }

    /// Cross-attention whose context ends with `branch.tokenCount` tokens read by `branch` (its own keys,
    /// values and softmax), added to the text attention before `to_out`.
    public func callAsFunction(_ x: Tensor, context: Tensor, decoupled branch: DecoupledCrossAttention) -> Tensor {
        let m = branch.tokenCount
        precondition(context.shape[1] > m, "decoupled cross-attention: context of \(context.shape[1]) tokens for \(m) extra tokens")
        let query = toQ(x)
        let parts = split(context, sizes: [context.shape[1] - m, m], axis: 1)
        let text = scaledDotProductAttention(query: query, key: toK(parts[0]), value: toV(parts[0]), heads: heads, causal: false)
        var extra = scaledDotProductAttention(query: query, key: branch.toK(parts[1]), value: branch.toV(parts[1]),
                                              heads: heads, causal: false)
        if branch.scale != 1 { extra = extra * branch.scale }
        return toOut(text + extra)
    }
}
