import Kernels

/// SiLU (swish): x·σ(x).
public func silu(_ x: Tensor) -> Tensor {
    let out = Tensor.uninitialized(x.shape)
    ActivationKernels.siluForward(x.data, out.data, count: x.count)
    return Tensor.record(out, [x]) { g in
        let dx = Tensor.uninitialized(x.shape)
        ActivationKernels.siluBackward(x.data, g.data, dx.data, count: x.count)
        return [dx]
    }
}
