import Autograd
import Kernels
import NN

/// transformers' `CLIPEncoderLayer` (pre-norm): h += self_attn(layer_norm1(h)) with a causal mask;
/// h += mlp(layer_norm2(h)). Parameter names as `encoder.layers.N.*` of CLIPTextModel.
public final class TextEncoderLayer: Module {
    public let layerNorm1: LayerNorm
    public let qProj: Linear
    public let kProj: Linear
    public let vProj: Linear
    public let outProj: Linear
    public let layerNorm2: LayerNorm
    public let fc1: Linear
    public let fc2: Linear
    public let heads: Int
    public let activation: TextEncoderConfig.Activation

    /// transformers' CLIP initialisation: normal weights with the CLIP standard deviations, zero biases.
    public init(config: TextEncoderConfig, rng: inout RNG) {
        let d = config.hiddenSize
        let inProjStd = 1 / Float(d).squareRoot() / Float(2 * max(config.numHiddenLayers, 1)).squareRoot()
        let outProjStd = 1 / Float(d).squareRoot()
        let fcStd = 1 / Float(2 * d).squareRoot()
        heads = config.numAttentionHeads
        activation = config.hiddenAct
        layerNorm1 = LayerNorm(d, eps: config.layerNormEps)
        qProj = Linear(d, d, weightStd: inProjStd, rng: &rng)
        kProj = Linear(d, d, weightStd: inProjStd, rng: &rng)
        vProj = Linear(d, d, weightStd: inProjStd, rng: &rng)
        outProj = Linear(d, d, weightStd: outProjStd, rng: &rng)
        layerNorm2 = LayerNorm(d, eps: config.layerNormEps)
        fc1 = Linear(d, config.intermediateSize, weightStd: fcStd, rng: &rng)
        fc2 = Linear(config.intermediateSize, d, weightStd: inProjStd, rng: &rng)
    }

    public var children: [(String, any Module)] {
        [("self_attn.q_proj", qProj), ("self_attn.k_proj", kProj), ("self_attn.v_proj", vProj),
         ("self_attn.out_proj", outProj), ("layer_norm1", layerNorm1), ("mlp.fc1", fc1), ("mlp.fc2", fc2),
         ("layer_norm2", layerNorm2)]
    }

    /// h [B, L, hidden] → [B, L, hidden].
    public func callAsFunction(_ h: Tensor) -> Tensor {
        let x = layerNorm1(h)
        let attended = scaledDotProductAttention(query: qProj(x), key: kProj(x), value: vProj(x), heads: heads, causal: true)
        let h = outProj(attended) + h
        return fc2(activate(fc1(layerNorm2(h)))) + h
    }

    private func activate(_ x: Tensor) -> Tensor {
        switch activation {
        case .quickGELU: return quickGELU(x)
        case .gelu: return gelu(x, approximate: .none)
        }
    }
}
