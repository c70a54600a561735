import Kernels

/// 2-D convolution, torch's `F.conv2d` (no dilation or groups): x [N, Cin, H, W], weight [Cout, Cin, kh, kw],
/// bias [Cout] → [N, Cout, (H + 2p − kh)/s + 1, (W + 2p − kw)/s + 1].
public func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0) -> Tensor {
    precondition(x.rank == 4, "conv2d: input must be NCHW, got shape \(x.shape)")
    precondition(weight.rank == 4 && weight.shape[1] == x.shape[1],
                 "conv2d: weight \(weight.shape) must be [Cout, \(x.shape[1]), kh, kw] for input \(x.shape)")
    precondition(stride >= 1 && padding >= 0, "conv2d: stride \(stride) must be ≥ 1 and padding \(padding) ≥ 0")
    let s = Conv2dShape(batch: x.shape[0], inChannels: x.shape[1], outChannels: weight.shape[0],
                        height: x.shape[2], width: x.shape[3], kernelHeight: weight.shape[2], kernelWidth: weight.shape[3],
                        stride: stride, padding: padding)
    precondition(x.shape[2] + 2 * padding >= weight.shape[2] && x.shape[3] + 2 * padding >= weight.shape[3],
                 "conv2d: kernel \(weight.shape[2])×\(weight.shape[3]) is larger than the padded input \(x.shape)")
    if let bias { precondition(bias.shape == [s.outChannels], "conv2d: bias \(bias.shape) must be [\(s.outChannels)]") }
    let out = Tensor.uninitialized([s.batch, s.outChannels, s.outHeight, s.outWidth])
    ConvolutionKernels.forward(x.data, weight: weight.data, bias: bias?.data, out.data, shape: s)
    let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
    let savedX = SavedInput(x), xShape = x.shape, xNeeds = x.requiresGrad
    return Tensor.record(out, inputs) { g in
        let dx = xNeeds ? Tensor.uninitialized(xShape) : nil
        let dw = weight.requiresGrad ? Tensor.uninitialized(weight.shape) : nil
        let db = bias?.requiresGrad == true ? Tensor.uninitialized([s.outChannels]) : nil
        savedX.withValue { x in
            ConvolutionKernels.backward(x.data, weight: weight.data, g.data, dx: dx?.data, dWeight: dw?.data,
                                        dBias: db?.data, shape: s)
        }
        return bias == nil ? [dx, dw] : [dx, dw, db]
    }
}
