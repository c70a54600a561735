import Autograd
import Kernels

// The differentiable ops of the preference scorer that the shared op set lacks (kernels in
// ScorerKernels.swift). Same contract as Autograd/Ops: allocate, run the forward kernel, record backward.

/// Each row of the last dimension divided by its L2 norm (clamped below by `eps`), as
/// `torch.nn.functional.normalize(x, dim=-1, eps=eps)`: CLIP's unit embeddings.
public func l2Normalize(_ x: Tensor, eps: Float = 1e-12) -> Tensor {
    precondition(x.rank >= 1, "l2Normalize needs at least one dimension, got shape \(x.shape)")
    let cols = x.shape[x.rank - 1]
    let rows = cols == 0 ? 0 : x.count / cols
    let out = Tensor.uninitialized(x.shape)
    let norms = Tensor.uninitialized([rows])
    ScorerKernels.l2NormalizeForward(x.data, out.data, norms: norms.data, rows: rows, cols: cols, eps: eps)
    let y = out.storage, shape = x.shape  // the output is saved, not the input
    return Tensor.record(out, [x]) { g in
        let dx = Tensor.uninitialized(shape)
        ScorerKernels.l2NormalizeBackward(y.pointer, norms: norms.data, g.data, dx.data, rows: rows, cols: cols, eps: eps)
        return [dx]
    }
}

/// `x[b, indices[b], :]` for x [B, L, D] → [B, D] (transformers' CLIP pooling at the EOS position).
public func gatherRows(_ x: Tensor, indices: [Int]) -> Tensor {
    precondition(x.rank == 3, "gatherRows: input must be [B, L, D], got shape \(x.shape)")
    let (b, l, d) = (x.shape[0], x.shape[1], x.shape[2])
    precondition(indices.count == b, "gatherRows: \(indices.count) indices for a batch of \(b)")
    precondition(indices.allSatisfy { $0 >= 0 && $0 < l }, "gatherRows: an index is outside 0..<\(l): \(indices)")
    let out = Tensor.uninitialized([b, d])
    indices.withUnsafeBufferPointer { p in
        ScorerKernels.gatherRowsForward(x.data, indices: p.baseAddress!, out.data, batch: b, length: l, dim: d)
    }
    let inShape = x.shape
    return Tensor.record(out, [x]) { g in
        let dx = Tensor.uninitialized(inShape)
        indices.withUnsafeBufferPointer { p in
            ScorerKernels.gatherRowsBackward(g.data, indices: p.baseAddress!, dx.data, batch: b, length: l, dim: d)
        }
        return [dx]
    }
}

/// min(x, bound) elementwise, as `torch.clamp(x, max=bound)` (gradient 0 above the bound).
public func clampMax(_ x: Tensor, _ bound: Float) -> Tensor {
    pointwise(x, { ScorerKernels.clampMaxForward($0, $1, count: $2, bound: bound) },
              backward: { ScorerKernels.clampMaxBackward($0, $1, $2, count: $3, bound: bound) })
}

/// Per row of logits [N, C]: −Σ_c targets[r, c]·log softmax(logits[r])_c → [N], as
/// `torch.nn.functional.cross_entropy(logits, targets, reduction="none")` with class probabilities as
/// targets (row-major [N, C]). Only the logits get a gradient.
public func softCrossEntropy(_ logits: Tensor, targets: [Float]) -> Tensor {
    precondition(logits.rank == 2, "softCrossEntropy: logits must be [N, C], got shape \(logits.shape)")
    let (n, c) = (logits.shape[0], logits.shape[1])
    precondition(targets.count == n * c, "softCrossEntropy: \(targets.count) target values for logits \(logits.shape)")
    let out = Tensor.uninitialized([n])
    let probabilities = Tensor.uninitialized([n, c])
    targets.withUnsafeBufferPointer { t in
        ScorerKernels.softCrossEntropyForward(logits.data, targets: t.baseAddress!, probabilities: probabilities.data, out.data,
                                              rows: n, cols: c)
    }
    return Tensor.record(out, [logits]) { g in
        let dx = Tensor.uninitialized(logits.shape)
        targets.withUnsafeBufferPointer { t in
            ScorerKernels.softCrossEntropyBackward(probabilities: probabilities.data, targets: t.baseAddress!, g.data, dx.data,
                                                   rows: n, cols: c)
        }
        return [dx]
    }
}

/// log(1 + x²/eps) elementwise: the image tower's detail branch pools this over pixels, a noise-level
/// estimate of each learned high-pass filter (robust to the few pixels on strong edges).
public func logEnergy(_ x: Tensor, eps: Float) -> Tensor {
    precondition(eps > 0, "logEnergy: eps must be positive, got \(eps)")
    return pointwise(x, { ScorerKernels.logEnergyForward($0, $1, count: $2, eps: eps) },
                     backward: { ScorerKernels.logEnergyBackward($0, $1, $2, count: $3, eps: eps) })
}
