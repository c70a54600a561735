import Autograd
import Foundation

/// Rows scaled to unit Euclidean norm over the last dimension, as `torch.nn.functional.normalize(x, dim=-1)`:
/// y = x / max(‖x‖, eps). A user embedding is a direction: normalizing makes its length independent of K
/// and of how strongly the K pairs differ, and leaves the logit's magnitude to the learned scale.
public func l2Normalized(_ x: Tensor, eps: Float = 1e-12) -> Tensor {
    precondition(x.rank >= 1, "l2Normalized needs at least one dimension, got shape \(x.shape)")
    let d = x.shape[x.rank - 1]
    let rows = d == 0 ? 0 : x.count / d
    let out = Tensor.uninitialized(x.shape)
    var norms = [Float](repeating: 0, count: rows)
    for r in 0..<rows {
        let p = x.data + r * d
        var s = 0.0
        for j in 0..<d { s += Double(p[j]) * Double(p[j]) }
        let n = Float(s.squareRoot())
        norms[r] = n
        let inv = 1 / max(n, eps)
        for j in 0..<d { out.data[r * d + j] = p[j] * inv }
    }
    return Tensor.record(out, [x]) { g in
        // ‖x‖ > eps: dx = (g − y·⟨y, g⟩) / ‖x‖; otherwise y = x / eps is linear in x.
        let dx = Tensor.uninitialized(x.shape)
        for r in 0..<rows {
            let y = out.data + r * d, gr = g.data + r * d, o = dx.data + r * d
            if norms[r] > eps {
                var dot = 0.0
                for j in 0..<d { dot += Double(y[j]) * Double(gr[j]) }
                let inv = 1 / norms[r], fdot = Float(dot)
                for j in 0..<d { o[j] = (gr[j] - y[j] * fdot) * inv }
            } else {
                for j in 0..<d { o[j] = gr[j] / eps }
            }
        }
        return [dx]
    }
}
