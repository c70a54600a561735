import Kernels

/// Σ of all elements → shape [].
public func sum(_ x: Tensor) -> Tensor {
    let out = Tensor(scalar: Float(ReductionKernels.parallelSum(x.data, count: x.count)))
    let shape = x.shape
    return Tensor.record(out, [x]) { g in [Tensor.full(shape, g.data[0])] }
}

/// Mean of all elements → shape [] (NaN for an empty tensor, as torch).
public func mean(_ x: Tensor) -> Tensor {
    let n = Double(x.count)
    let out = Tensor(scalar: Float(ReductionKernels.parallelSum(x.data, count: x.count) / n))
    let shape = x.shape
    return Tensor.record(out, [x]) { g in [Tensor.full(shape, Float(Double(g.data[0]) / n))] }
}

/// [N, …] → [N]: the mean over every non-batch element of each sample (a per-image loss).
public func meanPerSample(_ x: Tensor) -> Tensor {
    precondition(x.rank >= 1, "meanPerSample needs a batch dimension, got shape \(x.shape)")
    let n = x.shape[0]
    let per = n == 0 ? 0 : x.count / n
    let out = Tensor.uninitialized([n])
    ReductionKernels.sumRows(x.data, rows: n, cols: per, scale: 1 / Float(per), out.data)
    let inShape = x.shape
    return Tensor.record(out, [x]) { g in
        let dx = Tensor.uninitialized(inShape)
        ReductionKernels.broadcastAxis(g.data, outer: n, axis: per, inner: 1, scale: 1 / Float(per), dx.data)
        return [dx]
    }
}

/// Σ along `axis` (negative counts from the end). With `keepDim` the axis stays with size 1
/// ([N, C, H, W] → [N, 1, H, W]), otherwise it is dropped ([N, C, H, W] → [N, H, W]), as torch's `keepdim`.
public func sum(_ x: Tensor, axis: Int, keepDim: Bool = false) -> Tensor {
    reduceAxis(x, axis: axis, keepDim: keepDim, mean: false)
}

/// Mean along `axis`; `keepDim` as for `sum(_:axis:keepDim:)`.
public func mean(_ x: Tensor, axis: Int, keepDim: Bool = false) -> Tensor {
    reduceAxis(x, axis: axis, keepDim: keepDim, mean: true)
}

private func reduceAxis(_ x: Tensor, axis: Int, keepDim: Bool, mean: Bool) -> Tensor {
    let a = axis < 0 ? axis + x.rank : axis
    precondition(a >= 0 && a < x.rank, "reduction axis \(axis) out of range for shape \(x.shape)")
    let outer = x.shape[..<a].reduce(1, *), len = x.shape[a], inner = x.shape[(a + 1)...].reduce(1, *)
    var shape = x.shape
    if keepDim { shape[a] = 1 } else { shape.remove(at: a) }
    let scale: Float = mean ? 1 / Float(len) : 1
    let out = Tensor.uninitialized(shape)
    ReductionKernels.sumAxis(x.data, outer: outer, axis: len, inner: inner, scale: scale, out.data)
    let inShape = x.shape
    return Tensor.record(out, [x]) { g in
        let dx = Tensor.uninitialized(inShape)
        ReductionKernels.broadcastAxis(g.data, outer: outer, axis: len, inner: inner, scale: scale, dx.data)
        return [dx]
    }
}
