import Autograd
import Kernels

/// A lookup table [count, dim], as `torch.nn.Embedding` (parameter `weight`).
public final class Embedding: Module {
    public let weight: Tensor

    /// torch's default initialisation N(0, 1); transformers models pass their own `std` (CLIP: 0.02).
    public init(_ count: Int, _ dim: Int, std: Float = 1, rng: inout RNG) {
        weight = Initialization.normal([count, dim], std: std, rng: &rng)
    }

    public var count: Int { weight.shape[0] }
    public var dim: Int { weight.shape[1] }

    public var ownParameters: [(String, Tensor)] { [("weight", weight)] }

    /// Rows of the table for `ids` laid out as `shape` → [shape…, dim]. Ids must be in 0..<count.
    public func callAsFunction(_ ids: [Int32], shape: [Int]) -> Tensor {
        embedding(ids: ids, shape: shape, table: weight)
    }
}
