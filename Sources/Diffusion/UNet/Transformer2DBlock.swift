import Autograd
import Kernels
import NN

/// diffusers' `BasicTransformerBlock` (norm_type "layer_norm", GEGLU feed-forward), on tokens [B, L, dim]:
/// h += attn1(norm1(h)); h += attn2(norm2(h), context); h += ff(norm3(h)).
public final class BasicTransformerBlock: Module {
    public let norm1: LayerNorm
    public let attn1: Attention
    public let norm2: LayerNorm
    public let attn2: Attention
    public let norm3: LayerNorm
    public let ff: FeedForward

    public init(dim: Int, heads: Int, headDim: Int, contextDim: Int, rng: inout RNG) {
        norm1 = LayerNorm(dim, eps: 1e-5)
        attn1 = Attention(queryDim: dim, heads: heads, headDim: headDim, rng: &rng)
        norm2 = LayerNorm(dim, eps: 1e-5)
        attn2 = Attention(queryDim: dim, contextDim: contextDim, heads: heads, headDim: headDim, rng: &rng)
        norm3 = LayerNorm(dim, eps: 1e-5)
        ff = FeedForward(dim: dim, rng: &rng)
    }

    public var children: [(String, any Module)] {
        [("norm1", norm1), ("attn1", attn1), ("norm2", norm2), ("attn2", attn2), ("norm3", norm3), ("ff", ff)]
    }

    /// h [B, L, dim], context [B, Lc, contextDim] → [B, L, dim].
    public func callAsFunction(_ h: Tensor, context: Tensor) -> Tensor {
        var h = attn1(norm1(h)) + h
        h = attn2(norm2(h), context: context) + h
        return ff(norm3(h)) + h
    }
}

/// diffusers' `FeedForward` with activation "geglu": `net.0` = GEGLU (a Linear to 2·inner, then
/// hidden · gelu(gate)), `net.1` dropout (no-op), `net.2` = Linear(inner → dim); inner = 4·dim. Runs as one
/// op (`gegluFeedForward`) that recomputes the 8·dim-wide hidden projection in backward instead of keeping it.
public final class FeedForward: Module {
    public let geluProj: Linear
    public let out: Linear

    public init(dim: Int, multiplier: Int = 4, rng: inout RNG) {
        let inner = dim * multiplier
        geluProj = Linear(dim, 2 * inner, rng: &rng)
        out = Linear(inner, dim, rng: &rng)
    }

    public var children: [(String, any Module)] { [("net.0.proj", geluProj), ("net.2", out)] }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        gegluFeedForward(x, projWeight: geluProj.weight, projBias: geluProj.bias, outWeight: out.weight, outBias: out.bias)
    }
}
