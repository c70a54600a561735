import Autograd
import Kernels

/// Group normalisation over [N, C, …], as `torch.nn.GroupNorm` (affine `weight`/`bias` [C], ones/zeros at init).
public final class GroupNorm: Module {
    public let groups: Int
    public let eps: Float
    public let weight: Tensor
    public let bias: Tensor

    public init(groups: Int, channels: Int, eps: Float = 1e-5) {
        precondition(groups > 0 && channels % groups == 0, "GroupNorm: \(groups) groups must divide \(channels) channels")
        self.groups = groups
        self.eps = eps
        weight = Initialization.constant([channels], 1)
        bias = Initialization.constant([channels], 0)
    }

    public var channels: Int { weight.count }

    public var ownParameters: [(String, Tensor)] { [("weight", weight), ("bias", bias)] }

    /// groupNorm(x), or with `thenSiLU` silu(groupNorm(x)) as one fused op (see `groupNorm`).
    public func callAsFunction(_ x: Tensor, thenSiLU: Bool = false) -> Tensor {
        groupNorm(x, groups: groups, weight: weight, bias: bias, eps: eps, thenSiLU: thenSiLU)
    }
}
