import Autograd
import Kernels
import NN

/// diffusers' `Downsample2D` with a conv: 3×3, stride 2 (halves H and W).
public final class Downsample2D: Module {
    public let conv: Conv2d

    public init(channels: Int, padding: Int, rng: inout RNG) {
        conv = Conv2d(channels, channels, kernelSize: 3, stride: 2, padding: padding, rng: &rng)
    }

    public var children: [(String, any Module)] { [("conv", conv)] }

    public func callAsFunction(_ x: Tensor) -> Tensor { conv(x) }
}

/// diffusers' `Upsample2D` with a conv: nearest-neighbour ×2, then a 3×3 conv.
public final class Upsample2D: Module {
    public let conv: Conv2d

    public init(channels: Int, rng: inout RNG) {
        conv = Conv2d(channels, channels, kernelSize: 3, padding: 1, rng: &rng)
    }

    public var children: [(String, any Module)] { [("conv", conv)] }

    public func callAsFunction(_ x: Tensor) -> Tensor { conv(upsampleNearest2x(x)) }
}
