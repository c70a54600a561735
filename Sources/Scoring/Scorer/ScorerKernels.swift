import Foundation
import Kernels

/// Pointer-level kernels of the ops the dual encoder needs beyond the shared op set: row L2
/// normalisation, picking one row per sample (CLIP's EOS pooling), a soft-target cross-entropy, the
/// detail branch's log energy and an upper clamp. Forward and backward side by side, as in `Kernels/`.
/// The tensors involved are small ([B, D] with D ≤ a few hundred; the log energy's [B, 16, 30, 30] costs
/// milliseconds), so these loops run on one thread.
public enum ScorerKernels {
    // MARK: Row L2 normalisation (torch.nn.functional.normalize(x, dim=-1))

    /// y = x / max(‖x‖₂, eps) per row of `cols`; writes the divisor of each row to `norms`.
    public static func l2NormalizeForward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                                          norms: UnsafeMutablePointer<Float>, rows: Int, cols: Int, eps: Float) {
        for r in 0..<rows {
            let xr = x + r * cols, yr = y + r * cols
            var s = 0.0
            for j in 0..<cols { s += Double(xr[j]) * Double(xr[j]) }
            let n = max(Float(s.squareRoot()), eps)
            norms[r] = n
            let inv = 1 / n
            for j in 0..<cols { yr[j] = xr[j] * inv }
        }
    }

    /// dx = (g − y·⟨y, g⟩) / n for rows with ‖x‖ > eps; g / eps where the divisor was clamped (its
    /// derivative is then the constant 1/eps, as torch's clamp_min).
    public static func l2NormalizeBackward(_ y: UnsafePointer<Float>, norms: UnsafePointer<Float>, _ g: UnsafePointer<Float>,
                                           _ dx: UnsafeMutablePointer<Float>, rows: Int, cols: Int, eps: Float) {
        for r in 0..<rows {
            let yr = y + r * cols, gr = g + r * cols, dr = dx + r * cols
            let n = norms[r]
            let inv = 1 / n
            if n <= eps {
                for j in 0..<cols { dr[j] = gr[j] * inv }
                continue
            }
            var dot = 0.0
            for j in 0..<cols { dot += Double(yr[j]) * Double(gr[j]) }
            let d = Float(dot)
            for j in 0..<cols { dr[j] = (gr[j] - yr[j] * d) * inv }
        }
    }

    // MARK: One row per sample ([B, L, D] → [B, D])

    /// y[b, :] = x[b, index[b], :].
    public static func gatherRowsForward(_ x: UnsafePointer<Float>, indices: UnsafePointer<Int>, _ y: UnsafeMutablePointer<Float>,
                                         batch: Int, length: Int, dim: Int) {
        for b in 0..<batch {
            (y + b * dim).update(from: x + (b * length + indices[b]) * dim, count: dim)
        }
    }

    /// dx[b, index[b], :] = g[b, :], zero elsewhere.
    public static func gatherRowsBackward(_ g: UnsafePointer<Float>, indices: UnsafePointer<Int>, _ dx: UnsafeMutablePointer<Float>,
                                          batch: Int, length: Int, dim: Int) {
        dx.update(repeating: 0, count: batch * length * dim)
        for b in 0..<batch {
            (dx + (b * length + indices[b]) * dim).update(from: g + b * dim, count: dim)
        }
    }

    // MARK: Cross-entropy against a target distribution per row

    /// loss[r] = −Σ_c t[r, c]·log softmax(x[r, :])_c (max-subtracted); writes softmax(x) to `probabilities`.
    public static func softCrossEntropyForward(_ x: UnsafePointer<Float>, targets: UnsafePointer<Float>,
                                               probabilities: UnsafeMutablePointer<Float>, _ loss: UnsafeMutablePointer<Float>,
                                               rows: Int, cols: Int) {
        for r in 0..<rows {
            let xr = x + r * cols, tr = targets + r * cols, pr = probabilities + r * cols
            var m = -Float.infinity
            for c in 0..<cols { m = max(m, xr[c]) }
            var z = 0.0
            for c in 0..<cols { z += Foundation.exp(Double(xr[c] - m)) }
            let logZ = Foundation.log(z)
            var l = 0.0
            for c in 0..<cols {
                let logp = Double(xr[c] - m) - logZ
                pr[c] = Float(Foundation.exp(logp))
                if tr[c] != 0 { l -= Double(tr[c]) * logp }
            }
            loss[r] = Float(l)
        }
    }

    /// dx[r, c] = g[r]·(p[r, c]·Σ_c' t[r, c'] − t[r, c]).
    public static func softCrossEntropyBackward(probabilities: UnsafePointer<Float>, targets: UnsafePointer<Float>,
                                                _ g: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        for r in 0..<rows {
            let pr = probabilities + r * cols, tr = targets + r * cols, dr = dx + r * cols
            var mass: Float = 0
            for c in 0..<cols { mass += tr[c] }
            for c in 0..<cols { dr[c] = g[r] * (pr[c] * mass - tr[c]) }
        }
    }

    // MARK: Log energy (the detail branch's robust pooling)

    /// y = log(1 + x²/eps): 0 on flat regions, growing with a filter response's energy but only
    /// logarithmically, so a few strong edges do not drown the pixel-noise level in the average.
    public static func logEnergyForward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, eps: Float) {
        let inv = 1 / eps
        for i in 0..<count { y[i] = Foundation.log1p(x[i] * x[i] * inv) }
    }

    /// dx = g · 2x / (eps + x²).
    public static func logEnergyBackward(_ x: UnsafePointer<Float>, _ g: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
                                         count: Int, eps: Float) {
        for i in 0..<count { dx[i] = g[i] * 2 * x[i] / (eps + x[i] * x[i]) }
    }

    // MARK: Upper clamp (torch.clamp(x, max=bound))

    public static func clampMaxForward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, bound: Float) {
        for i in 0..<count { y[i] = x[i] > bound ? bound : x[i] }
    }

    /// The gradient passes where x ≤ bound (torch's mask is inclusive) and is 0 above it.
    public static func clampMaxBackward(_ x: UnsafePointer<Float>, _ g: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
                                        count: Int, bound: Float) {
        for i in 0..<count { dx[i] = x[i] > bound ? 0 : g[i] }
    }
}
