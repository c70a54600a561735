import Kernels

/// Group normalisation of x [N, C, …] (torch `F.group_norm`): each sample's C channels are cut into
/// `groups` groups of consecutive channels, normalised over the group's channels and positions (biased
/// variance, eps inside the square root), then scaled and shifted per channel by weight/bias [C].
/// `thenSiLU` returns silu(groupNorm(x)) from one fused op that keeps only x and the group statistics for
/// the backward pass (the separate ops would also keep the normalised tensor: one activation less per
/// ResNet norm).
public func groupNorm(_ x: Tensor, groups: Int, weight: Tensor? = nil, bias: Tensor? = nil,
                      eps: Float = 1e-5, thenSiLU: Bool = false) -> Tensor {
    precondition(x.rank >= 2, "groupNorm: input must be [N, C, …], got shape \(x.shape)")
    let n = x.shape[0], c = x.shape[1]
    precondition(groups > 0 && c % groups == 0,
                 "groupNorm: \(c) channels cannot be split into \(groups) groups; use a group count that divides the channels")
    if let weight { precondition(weight.count == c, "groupNorm: weight has shape \(weight.shape), expected [\(c)]") }
    if let bias { precondition(bias.count == c, "groupNorm: bias has shape \(bias.shape), expected [\(c)]") }
    let spatial = x.shape.dropFirst(2).reduce(1, *)
    let shape = x.shape
    // Normalises x into a new tensor, writing the group statistics to `mean` and `rstd`.
    func apply(_ x: Tensor, mean: Storage, rstd: Storage) -> Tensor {
        let y = Tensor.uninitialized(shape)
        NormalizationKernels.groupNormForward(x.data, weight: weight?.data, bias: bias?.data, y.data,
                                              mean: mean.pointer, rstd: rstd.pointer,
                                              batch: n, channels: c, spatial: spatial, groups: groups, eps: eps,
                                              silu: thenSiLU)
        return y
    }
    func statistics() -> Storage { Storage(count: n * groups, zeroed: false) }
    let mean = statistics(), rstd = statistics()
    let out = apply(x, mean: mean, rstd: rstd)
    let savedX = SavedInput(x)
    let inputs = [x] + [weight, bias].compactMap { $0 }
    let recipe = { savedX.withValue { apply($0, mean: statistics(), rstd: statistics()) } }
    return Tensor.record(out, inputs, recompute: recipe) { g in
        let dx = Tensor.uninitialized(shape)
        let dw = weight.map { Tensor.uninitialized($0.shape) }, db = bias.map { Tensor.uninitialized($0.shape) }
        savedX.withValue { x in
            NormalizationKernels.groupNormBackward(x.data, g.data, mean: mean.pointer, rstd: rstd.pointer,
                                                   weight: weight?.data, dx.data, dWeight: dw?.data, dBias: db?.data,
                                                   batch: n, channels: c, spatial: spatial, groups: groups,
                                                   silu: thenSiLU, bias: bias?.data)
        }
        return [dx] + affineGradients(dw, db)
    }
}

/// Layer normalisation over the last dimension (torch `F.layer_norm(x, (D,), weight, bias, eps)`):
/// weight/bias are [D].
public func layerNorm(_ x: Tensor, weight: Tensor? = nil, bias: Tensor? = nil, eps: Float = 1e-5) -> Tensor {
    precondition(x.rank >= 1, "layerNorm: input must have at least one dimension")
    let d = x.shape[x.rank - 1]
    if let weight { precondition(weight.count == d, "layerNorm: weight has shape \(weight.shape), expected [\(d)]") }
    if let bias { precondition(bias.count == d, "layerNorm: bias has shape \(bias.shape), expected [\(d)]") }
    let rows = d == 0 ? 0 : x.count / d
    // Normalises x into a new tensor, writing the row statistics to `mean` and `rstd`.
    func apply(mean: Storage, rstd: Storage) -> Tensor {
        let y = Tensor.uninitialized(x.shape)
        NormalizationKernels.layerNormForward(x.data, weight: weight?.data, bias: bias?.data, y.data,
                                              mean: mean.pointer, rstd: rstd.pointer, rows: rows, dim: d, eps: eps)
        return y
    }
    func statistics() -> Storage { Storage(count: rows, zeroed: false) }
    let mean = statistics(), rstd = statistics()
    let inputs = [x] + [weight, bias].compactMap { $0 }
    let recipe = { apply(mean: statistics(), rstd: statistics()) }
    return Tensor.record(apply(mean: mean, rstd: rstd), inputs, recompute: recipe) { g in
        let dx = Tensor.uninitialized(x.shape)
        let dw = weight.map { Tensor.uninitialized($0.shape) }, db = bias.map { Tensor.uninitialized($0.shape) }
        NormalizationKernels.layerNormBackward(x.data, g.data, mean: mean.pointer, rstd: rstd.pointer,
                                               weight: weight?.data, dx.data, dWeight: dw?.data, dBias: db?.data,
                                               rows: rows, dim: d)
        return [dx] + affineGradients(dw, db)
    }
}

/// The weight and bias gradients in the order their tensors were passed to `record`, skipping absent ones
/// (spelled out: in a `[Tensor?]` context `compactMap { $0 }` would keep the nils).
private func affineGradients(_ dw: Tensor?, _ db: Tensor?) -> [Tensor?] {
    var grads: [Tensor?] = []
    if let dw { grads.append(dw) }
    if let db { grads.append(db) }
    return grads
}
