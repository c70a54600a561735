import Autograd
import Kernels

/// Layer normalisation over the last dimension, as `torch.nn.LayerNorm` (`weight`/`bias` [dim], ones/zeros at init).
public final class LayerNorm: Module {
    public let eps: Float
    public let weight: Tensor
    public let bias: Tensor

    public init(_ dim: Int, eps: Float = 1e-5) {
        self.eps = eps
        weight = Initialization.constant([dim], 1)
        bias = Initialization.constant([dim], 0)
    }

    public var dim: Int { weight.count }

    public var ownParameters: [(String, Tensor)] { [("weight", weight), ("bias", bias)] }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        layerNorm(x, weight: weight, bias: bias, eps: eps)
    }
}
