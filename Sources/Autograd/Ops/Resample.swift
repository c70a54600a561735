import Kernels

/// Nearest-neighbour 2× upsampling of an NCHW tensor: [N, C, H, W] → [N, C, 2H, 2W]
/// (torch `F.interpolate(x, scale_factor=2, mode="nearest")`).
public func upsampleNearest2x(_ x: Tensor) -> Tensor {
    precondition(x.rank == 4, "upsampleNearest2x needs an NCHW tensor, got shape \(x.shape)")
    let n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3]
    let out = Tensor.uninitialized([n, c, 2 * h, 2 * w])
    ResampleKernels.upsampleNearest2xForward(x.data, out.data, planes: n * c, height: h, width: w)
    let inShape = x.shape
    let recorded = Tensor.record(out, [x]) { g in
        let dx = Tensor.uninitialized(inShape)
        ResampleKernels.upsampleNearest2xBackward(g.data, dx.data, planes: n * c, height: h, width: w)
        return [dx]
    }
    if recorded.requiresGrad {
        // A convolution follows: it keeps x (a quarter of the output) and this recipe instead of the output.
        let savedX = SavedInput(x)
        recorded.recompute = {
            let again = Tensor.uninitialized([n, c, 2 * h, 2 * w])
            savedX.withValue { x in
                ResampleKernels.upsampleNearest2xForward(x.data, again.data, planes: n * c, height: h, width: w)
            }
            return again
        }
    }
    return recorded
}
