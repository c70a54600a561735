import Autograd
import Kernels

/// y = x·Wᵀ + b over the last dimension, as `torch.nn.Linear` (parameters `weight` [out, in], `bias` [out]).
public final class Linear: Module {
    public let weight: Tensor
    public let bias: Tensor?

    /// torch's default initialisation: weight and bias ~ U(−1/√in, 1/√in).
    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, rng: inout RNG) {
        weight = Initialization.kaimingUniform([outFeatures, inFeatures], fanIn: inFeatures, rng: &rng)
        self.bias = bias ? Initialization.kaimingUniform([outFeatures], fanIn: inFeatures, rng: &rng) : nil
    }

    /// Weight ~ N(0, std²) and a zero bias (transformers' initialisation, e.g. CLIP's).
    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, weightStd: Float, rng: inout RNG) {
        weight = Initialization.normal([outFeatures, inFeatures], std: weightStd, rng: &rng)
        self.bias = bias ? Initialization.constant([outFeatures], 0) : nil
    }

    public var inFeatures: Int { weight.shape[1] }
    public var outFeatures: Int { weight.shape[0] }

    public var ownParameters: [(String, Tensor)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { linear(x, weight: weight, bias: bias) }

    /// With `recomputedInBackward`, an attention op rebuilds this output in backward instead of keeping it.
    public func callAsFunction(_ x: Tensor, recomputedInBackward: Bool) -> Tensor {
        linear(x, weight: weight, bias: bias, recomputedInBackward: recomputedInBackward)
    }
}
