import Kernels

/// Multi-head scaled dot-product attention on already-projected inputs (torch
/// `F.scaled_dot_product_attention` with the heads split out of the last dimension):
/// query [B, Lq, D], key and value [B, Lk, D], D = heads·headDim, head h using columns
/// h·headDim..<(h+1)·headDim; softmax(q·kᵀ/√headDim)·v per head → [B, Lq, D]. With `causal`, query i
/// sees keys 0…i (torch's `is_causal`, for the text encoder). While a graph is being recorded, each score
/// row's log Σ exp is kept, from which the backward pass recomputes the softmax (`AttentionKernels`). Query, key
/// and value are `SavedInput`s: projections made with `linear(…, recomputedInBackward: true)` are rebuilt in
/// backward rather than kept.
public func scaledDotProductAttention(query: Tensor, key: Tensor, value: Tensor, heads: Int,
                                      causal: Bool = false) -> Tensor {
    precondition(query.rank == 3 && key.rank == 3 && value.rank == 3,
                 "scaledDotProductAttention: query, key and value must be [B, L, D], got \(query.shape), \(key.shape), \(value.shape)")
    let b = query.shape[0], lq = query.shape[1], d = query.shape[2], lk = key.shape[1]
    precondition(key.shape == [b, lk, d] && value.shape == [b, lk, d],
                 "scaledDotProductAttention: key \(key.shape) and value \(value.shape) must both be [\(b), Lk, \(d)] for query \(query.shape)")
    precondition(heads > 0 && d % heads == 0,
                 "scaledDotProductAttention: dimension \(d) is not divisible by \(heads) heads")
    let out = Tensor.uninitialized(query.shape)
    let recording = GradMode.isEnabled && (query.requiresGrad || key.requiresGrad || value.requiresGrad)
    let logSumExp = recording ? Storage(count: b * heads * lq, zeroed: false) : nil
    AttentionKernels.forward(query: query.data, key: key.data, value: value.data, out.data,
                             logSumExp: logSumExp?.pointer,
                             batch: b, queryLength: lq, keyLength: lk, dim: d, heads: heads, causal: causal)
    guard let logSumExp else { return out }
    let savedQuery = SavedInput(query), savedKey = SavedInput(key), savedValue = SavedInput(value)
    let queryNeeds = query.requiresGrad, keyNeeds = key.requiresGrad, valueNeeds = value.requiresGrad
    return Tensor.record(out, [query, key, value]) { g in
        let dq = queryNeeds ? Tensor.uninitialized([b, lq, d]) : nil
        let dk = keyNeeds ? Tensor.uninitialized([b, lk, d]) : nil
        let dv = valueNeeds ? Tensor.uninitialized([b, lk, d]) : nil
        savedQuery.withValue { query in savedKey.withValue { key in savedValue.withValue { value in
            AttentionKernels.backward(query: query.data, key: key.data, value: value.data,
                                      logSumExp: logSumExp.pointer, causal: causal,
                                      gradOutput: g.data, gradQuery: dq?.data, gradKey: dk?.data, gradValue: dv?.data,
                                      batch: b, queryLength: lq, keyLength: lk, dim: d, heads: heads)
        } } }
        return [dq, dk, dv]
    }
}
