import Autograd
import Kernels

/// Parameter initialisers with torch's semantics, drawing from the package's seeded `RNG`.
/// New parameters require a gradient (as `torch.nn.Parameter`).
public enum Initialization {
    /// torch's default for `Linear` and `Conv2d` weights, `kaiming_uniform_(a=√5)`: gain √(2/(1+a²)) = √(1/3),
    /// so the bound √3·gain/√fan_in is 1/√fan_in. Their biases use the same bound.
    public static func kaimingUniform(_ shape: [Int], fanIn: Int, rng: inout RNG) -> Tensor {
        uniform(shape, bound: 1 / Float(max(fanIn, 1)).squareRoot(), rng: &rng)
    }

    /// U(−bound, bound).
    public static func uniform(_ shape: [Int], bound: Float, rng: inout RNG) -> Tensor {
        parameter(Tensor.rand(shape, rng: &rng, low: -bound, high: bound))
    }

    /// N(0, std²).
    public static func normal(_ shape: [Int], std: Float, rng: inout RNG) -> Tensor {
        parameter(Tensor.randn(shape, rng: &rng, std: std))
    }

    public static func constant(_ shape: [Int], _ value: Float) -> Tensor {
        parameter(value == 0 ? Tensor(zeros: shape) : Tensor.full(shape, value))
    }

    private static func parameter(_ t: Tensor) -> Tensor {
        t.requiresGrad = true
        return t
    }
}
