import Foundation
import Kernels

/// Finite-difference check of an op's backward pass, for tests and for anyone adding an op.
///
/// Projects the output on fixed random weights w (loss = Σ w·f(x), summed in Double), runs `backward`
/// with w as the output gradient, and compares every input element's analytic gradient with the central
/// difference (loss(x+ε) − loss(x−ε)) / 2ε. Inputs must be small (each element is perturbed twice).
public enum GradientCheck {
    public struct Result: CustomStringConvertible {
        /// Per input: max |analytic − numeric| / max(scale, max |numeric|) over its elements.
        public let relativeErrors: [Double]
        public var maxError: Double { relativeErrors.max() ?? 0 }
        public var description: String { "GradientCheck(relative errors \(relativeErrors.map { String(format: "%.2e", $0) }))" }
    }

    /// `inputs` are made to require gradients; `f` must be deterministic.
    public static func run(_ inputs: [Tensor], epsilon: Float = 1e-2, seed: UInt64 = 7,
                           _ f: ([Tensor]) -> Tensor) -> Result {
        for x in inputs { x.requiresGrad = true; x.grad = nil }
        let out = f(inputs)
        var rng = RNG(seed: seed, stream: 99)
        let w = Tensor.rand(out.shape, rng: &rng, low: -1, high: 1)
        out.backward(w)
        let analytic = inputs.map { $0.grad?.toArray() ?? [Float](repeating: 0, count: $0.count) }

        func loss() -> Double {
            let y = GradMode.withoutGrad { f(inputs) }
            var s = 0.0
            for i in 0..<y.count { s += Double(y.data[i]) * Double(w.data[i]) }
            return s
        }
        var errors: [Double] = []
        for (k, x) in inputs.enumerated() {
            var maxDiff = 0.0, maxMag = 0.0
            for i in 0..<x.count {
                let orig = x.data[i]
                x.data[i] = orig + epsilon
                let up = loss()
                x.data[i] = orig - epsilon
                let down = loss()
                x.data[i] = orig
                let numeric = (up - down) / (2 * Double(epsilon))
                maxDiff = max(maxDiff, abs(numeric - Double(analytic[k][i])))
                maxMag = max(maxMag, abs(numeric))
            }
            errors.append(maxDiff / max(1e-3, maxMag))
        }
        return Result(relativeErrors: errors)
    }
}
