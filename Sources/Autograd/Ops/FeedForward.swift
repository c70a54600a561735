import Kernels

/// diffusers' GEGLU feed-forward as one op: y = (h₁ · gelu(h₂))·W₂ᵀ + b₂ with [h₁ | h₂] = x·W₁ᵀ + b₁,
/// x [..., dim], W₁ [2·inner, dim], W₂ [dim, inner] → [..., dim].
///
/// The same arithmetic as `linear` → `geglu` → `linear`, but the backward pass recomputes the hidden projection
/// h = x·W₁ᵀ + b₁ (one GEMM) instead of keeping it: h has 2·inner = 8·dim floats per token, the largest tensor a
/// transformer block would otherwise keep for backward (on `small`, 64 MB of a training step's activations).
/// x itself is a `SavedInput` (a LayerNorm's output: rebuilt, not kept). Outputs and gradients equal the
/// composed ops' to the bit.
public func gegluFeedForward(_ x: Tensor, projWeight: Tensor, projBias: Tensor?, outWeight: Tensor, outBias: Tensor?,
                             approximate: GELUApproximation = .none) -> Tensor {
    let hidden2 = projWeight.shape[0], dim = projWeight.shape[1]
    precondition(projWeight.rank == 2 && hidden2 % 2 == 0, "gegluFeedForward: projWeight must be [2·inner, dim], got \(projWeight.shape)")
    let inner = hidden2 / 2
    precondition(outWeight.shape == [dim, inner], "gegluFeedForward: outWeight must be [\(dim), \(inner)], got \(outWeight.shape)")
    precondition(x.rank >= 1 && x.shape[x.rank - 1] == dim, "gegluFeedForward: input \(x.shape) must end with dim = \(dim)")
    if let projBias { precondition(projBias.shape == [hidden2], "gegluFeedForward: projBias \(projBias.shape) must be [\(hidden2)]") }
    if let outBias { precondition(outBias.shape == [dim], "gegluFeedForward: outBias \(outBias.shape) must be [\(dim)]") }
    let rows = x.count / max(dim, 1), tanh = approximate == .tanh

    /// h = x·W₁ᵀ + b₁ and a = h₁ · gelu(h₂), the forward pass's intermediates (rebuilt in backward).
    func hiddenAndActivation(_ x: Tensor) -> (h: Tensor, a: Tensor) {
        let h = Tensor.uninitialized([rows, hidden2]), a = Tensor.uninitialized([rows, inner])
        MatrixMultiplyKernels.linearForward(x.data, weight: projWeight.data, bias: projBias?.data, h.data,
                                            rows: rows, inFeatures: dim, outFeatures: hidden2)
        ActivationKernels.gegluForward(h.data, a.data, rows: rows, half: inner, tanhApproximation: tanh)
        return (h, a)
    }
    let out = Tensor.uninitialized(x.shape)
    do {
        let (_, a) = hiddenAndActivation(x)
        MatrixMultiplyKernels.linearForward(a.data, weight: outWeight.data, bias: outBias?.data, out.data,
                                            rows: rows, inFeatures: inner, outFeatures: dim)
    }
    var inputs = [x, projWeight]
    if let projBias { inputs.append(projBias) }
    inputs.append(outWeight)
    if let outBias { inputs.append(outBias) }
    let savedX = SavedInput(x), xShape = x.shape, xNeeds = x.requiresGrad
    return Tensor.record(out, inputs) { g in
        savedX.withValue { x in
            let (h, a) = hiddenAndActivation(x)
            let dOutWeight = outWeight.requiresGrad ? Tensor.uninitialized(outWeight.shape) : nil
            let dOutBias = outBias?.requiresGrad == true ? Tensor.uninitialized([dim]) : nil
            let da = Tensor.uninitialized([rows, inner])
            MatrixMultiplyKernels.linearBackward(a.data, weight: outWeight.data, g.data, dx: da.data, dWeight: dOutWeight?.data,
                                                 dBias: dOutBias?.data, rows: rows, inFeatures: inner, outFeatures: dim)
            let dh = Tensor.uninitialized([rows, hidden2])
            ActivationKernels.gegluBackward(h.data, da.data, dh.data, rows: rows, half: inner, tanhApproximation: tanh)
            let dx = xNeeds ? Tensor.uninitialized(xShape) : nil
            let dProjWeight = projWeight.requiresGrad ? Tensor.uninitialized(projWeight.shape) : nil
            let dProjBias = projBias?.requiresGrad == true ? Tensor.uninitialized([hidden2]) : nil
            MatrixMultiplyKernels.linearBackward(x.data, weight: projWeight.data, dh.data, dx: dx?.data,
                                                 dWeight: dProjWeight?.data, dBias: dProjBias?.data, rows: rows,
                                                 inFeatures: dim, outFeatures: hidden2)
            var grads: [Tensor?] = [dx, dProjWeight]
            if projBias != nil { grads.append(dProjBias) }
            grads.append(dOutWeight)
            if outBias != nil { grads.append(dOutBias) }
            return grads
        }
    }
}
