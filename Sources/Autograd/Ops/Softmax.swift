import Kernels

/// Softmax along `axis` (negative counts from the end), max-subtracted so large logits don't overflow.
public func softmax(_ x: Tensor, axis: Int = -1) -> Tensor {
    let a = axis < 0 ? axis + x.rank : axis
    precondition(a >= 0 && a < x.rank, "softmax: axis \(axis) is out of range for shape \(x.shape)")
    let outer = x.shape[..<a].reduce(1, *), len = x.shape[a], inner = x.shape[(a + 1)...].reduce(1, *)
    let out = Tensor.uninitialized(x.shape)
    SoftmaxKernels.softmaxForward(x.data, out.data, outer: outer, axis: len, inner: inner)
    let y = out.storage, shape = x.shape  // the output is saved, not the input
    return Tensor.record(out, [x]) { g in
        let dx = Tensor.uninitialized(shape)
        SoftmaxKernels.softmaxBackward(y.pointer, g.data, dx.data, outer: outer, axis: len, inner: inner)
        return [dx]
    }
}
