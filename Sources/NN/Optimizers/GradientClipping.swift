import Autograd
import Kernels

/// The L2 norm of all gradients together (as one concatenated vector); parameters without a gradient
/// are ignored, and a tensor listed twice (tied weights) counts once, as in torch's `parameters()`.
/// Accumulated in Double, so it is at least as accurate as torch's float32 reduction.
public func gradNorm(_ parameters: [Tensor]) -> Float {
    var total = 0.0
    for p in unique(parameters) {
        guard let g = p.grad else { continue }
        total += sumOfSquares(g.data, count: g.count)
    }
    return Float(total.squareRoot())
}

/// `torch.nn.utils.clip_grad_norm_(parameters, maxNorm)` (L2): returns the total gradient norm before
/// clipping and, when it exceeds `maxNorm`, scales every gradient in place by maxNorm / (norm + 1e-6).
///
/// A non-finite norm (a NaN or infinite gradient) is returned without touching the gradients — torch
/// would turn them all into NaN — so the caller can see it and skip the step.
@discardableResult
public func clipGradNorm(_ parameters: [Tensor], maxNorm: Float) -> Float {
    let norm = gradNorm(parameters)
    guard norm.isFinite else { return norm }
    let coefficient = Float(Double(maxNorm) / (Double(norm) + 1e-6))
    guard coefficient < 1 else { return norm }
    for p in unique(parameters) {
        guard let g = p.grad else { continue }
        scaleInPlace(g.data, count: g.count, by: coefficient)
    }
    return norm
}

private func unique(_ parameters: [Tensor]) -> [Tensor] {
    var seen = Set<ObjectIdentifier>()
    return parameters.filter { seen.insert(ObjectIdentifier($0)).inserted }
}

/// Σ x², with SIMD16 Float accumulators flushed into a Double every block (speed of float, accuracy
/// close to double for any tensor size).
private func sumOfSquares(_ x: UnsafePointer<Float>, count: Int) -> Double {
    let parts = min(Threading.cores, max(1, count / (1 << 16)))
    var partial = [Double](repeating: 0, count: parts)
    let xs = UncheckedSendable(x)
    partial.withUnsafeMutableBufferPointer { buffer in
        let out = UncheckedSendable(buffer.baseAddress!)
        Threading.parallelFor(parts) { part in
            let lo = count * part / parts, hi = count * (part + 1) / parts
            let x = xs.value
            var total = 0.0
            var i = lo
            while i < hi {
                let blockEnd = min(hi, i + 4096)
                var a0 = SIMD16<Float>(), a1 = SIMD16<Float>()
                while i + 32 <= blockEnd {
                    let v0 = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
                    let v1 = UnsafeRawPointer(x + i + 16).loadUnaligned(as: SIMD16<Float>.self)
                    a0 = a0.addingProduct(v0, v0)
                    a1 = a1.addingProduct(v1, v1)
                    i += 32
                }
                var s = Double((a0 + a1).sum())
                while i < blockEnd {
                    s += Double(x[i]) * Double(x[i])
                    i += 1
                }
                total += s
            }
            out.value[part] = total
        }
    }
    return partial.reduce(0, +)
}

/// Gradients are mutated after `backward()` finished, so writing into their storage is safe.
private func scaleInPlace(_ x: UnsafeMutablePointer<Float>, count: Int, by s: Float) {
    let xs = UncheckedSendable(x)
    Threading.parallelRanges(count) { r in
        let x = xs.value
        for i in r { x[i] *= s }
    }
}
