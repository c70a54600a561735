import Autograd
import Kernels
import NN

/// IP-Adapter's decoupled cross-attention for extra conditioning tokens (diffusers' `IPAdapterAttnProcessor`):
/// the last `tokenCount` tokens of a cross-attention context get their own key/value projections (`to_k_ip`,
/// `to_v_ip` there) and their own softmax, and that result is added to the text attention's before `to_out`:
///
///     out = to_out( attn(q, K(text), V(text)) + scale · attn(q, K′(extra), V′(extra)) )
///
/// Why a branch instead of appending the tokens to the text's: appended tokens compete with the text tokens
/// for one softmax and are read through the text's pretrained K/V, so a new conditioning gets little
/// attention and must speak the text's language; here it gets a full softmax of its own and K′/V′ learn
/// to read it. All-zero extra tokens add exactly nothing (zero keys and values), so "no extra condition"
/// is the unmodified network. The branch is not part of the U-Net's parameters (its state dict stays
/// diffusers'); it is attached to each cross-attention layer (`UNet2DConditionModel.attach`).
public final class DecoupledCrossAttention: Module {
    public let tokenCount: Int
    public let scale: Float
    public let toK: Linear
    public let toV: Linear

    public init(contextDim: Int, innerDim: Int, tokenCount: Int, scale: Float = 1, rng: inout RNG) {
        self.tokenCount = tokenCount
        self.scale = scale
        toK = Linear(contextDim, innerDim, bias: false, rng: &rng)
        toV = Linear(contextDim, innerDim, bias: false, rng: &rng)
    }

    public var children: [(String, any Module)] { [("to_k", toK), ("to_v", toV)] }

    /// IP-Adapter's initialisation: the branch starts as a copy of the layer's text key/value projections.
    public func copyKeyValue(from attention: Attention) throws {
        try toK.copyParameters(from: attention.toK)
        try toV.copyParameters(from: attention.toV)
    }
}
