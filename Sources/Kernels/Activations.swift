import Foundation

/// Pointwise activations: forward and backward side by side.
public enum ActivationKernels {
    /// y = x·σ(x)
    public static func siluForward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        Threading.parallelRanges(count) { r in
            for i in r { y[i] = x[i] / (1 + exp(-x[i])) }
        }
    }

    /// dx = dy·σ(x)·(1 + x·(1 − σ(x)))
    public static func siluBackward(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                                    _ dx: UnsafeMutablePointer<Float>, count: Int) {
        Threading.parallelRanges(count) { r in
            for i in r {
                let s = 1 / (1 + exp(-x[i]))
                dx[i] = dy[i] * s * (1 + x[i] * (1 - s))
            }
        }
    }
}
