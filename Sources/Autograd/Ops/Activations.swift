import Kernels

/// Which GELU: the exact x·Φ(x) (erf form, torch's default) or the tanh approximation
/// (torch's `approximate='tanh'`).
public enum GELUApproximation: String, Sendable, Codable {
    case none
    case tanh
}

/// An elementwise op whose derivative is computed from its input x: `forward(x, y, count)` fills the
/// output, `backward(x, g, dx, count)` the input gradient. Public so other modules' elementwise ops (the
/// scorer's clamp and log energy) record their graph the same way. Since x is saved anyway, the output
/// can be rebuilt from it (`Tensor.recompute`): a following linear layer does not keep it.
public func pointwise(_ x: Tensor,
                       _ forward: @escaping (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void,
                       backward: @escaping (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void)
    -> Tensor {
    func apply() -> Tensor {
        let y = Tensor.uninitialized(x.shape)
        forward(x.data, y.data, x.count)
        return y
    }
    return Tensor.record(apply(), [x], recompute: apply) { g in
        let dx = Tensor.uninitialized(x.shape)
        backward(x.data, g.data, dx.data, x.count)
        return [dx]
    }
}

/// An elementwise op whose derivative is computed from its output y (saved as storage, not as the output
/// tensor, so the graph holds no reference cycle).
private func pointwiseFromOutput(_ x: Tensor,
                                 _ forward: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void,
                                 backward: @escaping (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void)
    -> Tensor {
    let out = Tensor.uninitialized(x.shape)
    forward(x.data, out.data, x.count)
    let y = out.storage, shape = x.shape  // the output is saved, not the input
    return Tensor.record(out, [x]) { g in
        let dx = Tensor.uninitialized(shape)
        backward(y.pointer, g.data, dx.data, y.count)
        return [dx]
    }
}

/// SiLU (swish): x·σ(x).
public func silu(_ x: Tensor) -> Tensor {
    pointwise(x, { ActivationKernels.siluForward($0, $1, count: $2) },
              backward: { ActivationKernels.siluBackward($0, $1, $2, count: $3) })
}

/// Quick GELU x·σ(1.702x) (CLIP's text encoder, `QuickGELUActivation` in transformers) as one op: the
/// composed x * sigmoid(x * 1.702) kept three activations for its backward pass, this keeps x.
public func quickGELU(_ x: Tensor) -> Tensor {
    pointwise(x, { ActivationKernels.quickGELUForward($0, $1, count: $2) },
              backward: { ActivationKernels.quickGELUBackward($0, $1, $2, count: $3) })
}

/// GELU, exact (x·Φ(x)) or with the tanh approximation.
public func gelu(_ x: Tensor, approximate: GELUApproximation = .none) -> Tensor {
    let tanh = approximate == .tanh
    return pointwise(x, { ActivationKernels.geluForward($0, $1, count: $2, tanhApproximation: tanh) },
                     backward: { ActivationKernels.geluBackward($0, $1, $2, count: $3, tanhApproximation: tanh) })
}

/// diffusers' GEGLU activation (applied after its projection): the last dimension 2H is split into
/// hidden = x[…, :H] and gate = x[…, H:]; the result [… , H] is hidden·gelu(gate).
public func geglu(_ x: Tensor, approximate: GELUApproximation = .none) -> Tensor {
    precondition(x.rank >= 1 && x.shape[x.rank - 1] % 2 == 0,
                 "geglu: the last dimension must be even (hidden | gate halves), got shape \(x.shape)")
    let half = x.shape[x.rank - 1] / 2
    let rows = half == 0 ? 0 : x.count / (2 * half)
    let tanh = approximate == .tanh
    var shape = x.shape
    shape[shape.count - 1] = half
    func apply() -> Tensor {
        let y = Tensor.uninitialized(shape)
        ActivationKernels.gegluForward(x.data, y.data, rows: rows, half: half, tanhApproximation: tanh)
        return y
    }
    return Tensor.record(apply(), [x], recompute: apply) { g in
        let dx = Tensor.uninitialized(x.shape)
        ActivationKernels.gegluBackward(x.data, g.data, dx.data, rows: rows, half: half, tanhApproximation: tanh)
        return [dx]
    }
}

/// σ(x) = 1/(1 + e^−x).
public func sigmoid(_ x: Tensor) -> Tensor {
    pointwiseFromOutput(x, { ActivationKernels.sigmoidForward($0, $1, count: $2) },
                        backward: { ActivationKernels.sigmoidBackward($0, $1, $2, count: $3) })
}

/// log σ(x), stable for large |x| (the log-likelihood term of the DPO losses).
public func logSigmoid(_ x: Tensor) -> Tensor {
    pointwise(x, { ActivationKernels.logSigmoidForward($0, $1, count: $2) },
              backward: { ActivationKernels.logSigmoidBackward($0, $1, $2, count: $3) })
}

/// log(1 + eˣ), stable for large |x|.
public func softplus(_ x: Tensor) -> Tensor {
    pointwise(x, { ActivationKernels.softplusForward($0, $1, count: $2) },
              backward: { ActivationKernels.softplusBackward($0, $1, $2, count: $3) })
}

/// eˣ − 1, accurate near 0.
public func expm1(_ x: Tensor) -> Tensor {
    pointwiseFromOutput(x, { ActivationKernels.expm1Forward($0, $1, count: $2) },
                        backward: { ActivationKernels.expm1Backward($0, $1, $2, count: $3) })
}

/// eˣ (+∞ above 88.72, 0 far below −87).
public func exp(_ x: Tensor) -> Tensor {
    pointwiseFromOutput(x, { ActivationKernels.expForward($0, $1, count: $2) },
                        backward: { ActivationKernels.expBackward($0, $1, $2, count: $3) })
}

/// x².
public func square(_ x: Tensor) -> Tensor {
    pointwise(x, { ActivationKernels.squareForward($0, $1, count: $2) },
              backward: { ActivationKernels.squareBackward($0, $1, $2, count: $3) })
}
