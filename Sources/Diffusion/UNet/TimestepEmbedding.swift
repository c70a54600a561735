import Autograd
import Foundation
import Kernels
import NN

/// diffusers' `get_timestep_embedding` (max_period 10000, scale 1): [B] timesteps, fractional values allowed,
/// → [B, dim] with halves [sin, cos] (or [cos, sin] with `flipSinToCos`). Arithmetic is rounded to Float
/// where torch rounds (frequency, then t·frequency) so large timesteps give the reference's arguments.
/// Timesteps carry no gradient.
public func sinusoidalTimestepFeatures(_ timesteps: [Float], dim: Int, flipSinToCos: Bool, freqShift: Int) -> Tensor {
    let half = dim / 2
    let logPeriod = Float(-log(10_000.0))
    let frequencies: [Float] = (0..<half).map { i in
        let exponent = logPeriod * Float(i) / Float(half - freqShift)
        return Float(Foundation.exp(Double(exponent)))
    }
    let out = Tensor(zeros: [timesteps.count, dim])  // an odd dim keeps a zero last column, as diffusers pads
    let (sinOffset, cosOffset) = flipSinToCos ? (half, 0) : (0, half)
    for (b, t) in timesteps.enumerated() {
        let row = out.data + b * dim
        for i in 0..<half {
            let arg = Double(t * frequencies[i])
            row[sinOffset + i] = Float(Foundation.sin(arg))
            row[cosOffset + i] = Float(Foundation.cos(arg))
        }
    }
    return out
}

/// diffusers' `TimestepEmbedding`: linear_1 → SiLU → linear_2, from the sinusoidal features to the
/// conditioning vector every ResNet block receives.
public final class TimestepEmbedding: Module {
    public let linear1: Linear
    public let linear2: Linear

    public init(inputDim: Int, embeddingDim: Int, rng: inout RNG) {
        linear1 = Linear(inputDim, embeddingDim, rng: &rng)
        linear2 = Linear(embeddingDim, embeddingDim, rng: &rng)
    }

    public var children: [(String, any Module)] { [("linear_1", linear1), ("linear_2", linear2)] }

    public func callAsFunction(_ features: Tensor) -> Tensor { linear2(silu(linear1(features))) }
}
