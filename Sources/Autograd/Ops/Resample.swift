import Kernels

/// Nearest-neighbour 2× upsampling of an NCHW tensor: [N, C, H, W] → [N, C, 2H, 2W]
/// (torch `F.interpolate(x, scale_factor=2, mode="nearest")`).
public func upsampleNearest2x(_ x: Tensor) -> Tensor {
    precondition(x.rank == 4, "upsampleNearest2x needs an NCHW tensor, got shape \(x.shape)")
    let n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3]
    // The recipe rebuilds the output from x, which a following convolution keeps instead (a quarter of
    // the output).
    let savedX = SavedInput(x)
    func apply(_ x: Tensor) -> Tensor {
        let y = Tensor.uninitialized([n, c, 2 * h, 2 * w])
        ResampleKernels.upsampleNearest2xForward(x.data, y.data, planes: n * c, height: h, width: w)
        return y
    }
    let inShape = x.shape
    return Tensor.record(apply(x), [x], recompute: { savedX.withValue(apply) }) { g in
        let dx = Tensor.uninitialized(inShape)
        ResampleKernels.upsampleNearest2xBackward(g.data, dx.data, planes: n * c, height: h, width: w)
        return [dx]
    }
}
