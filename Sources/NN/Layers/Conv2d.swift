import Autograd
import Kernels

/// 2-D convolution over NCHW, as `torch.nn.Conv2d` (parameters `weight` [out, in, k, k], `bias` [out]).
public final class Conv2d: Module {
    public let weight: Tensor
    public let bias: Tensor?
    public let stride: Int
    public let padding: Int

    /// torch's default initialisation: weight and bias ~ U(−1/√fan_in, 1/√fan_in), fan_in = in·k².
    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                bias: Bool = true, rng: inout RNG) {
        let fanIn = inChannels * kernelSize * kernelSize
        weight = Initialization.kaimingUniform([outChannels, inChannels, kernelSize, kernelSize], fanIn: fanIn, rng: &rng)
        self.bias = bias ? Initialization.kaimingUniform([outChannels], fanIn: fanIn, rng: &rng) : nil
        self.stride = stride
        self.padding = padding
    }

    public var inChannels: Int { weight.shape[1] }
    public var outChannels: Int { weight.shape[0] }

    public var ownParameters: [(String, Tensor)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        conv2d(x, weight: weight, bias: bias, stride: stride, padding: padding)
    }
}
