import Kernels

/// conv2d straight from the definition, summed in Double (any kernel size, stride and padding): the reference
/// the im2col and Winograd kernels are tested against. The forward pass and both gradients are the same sum
/// over (output position, kernel tap) pairs, visited once by `forEachTap`.
enum ConvolutionReference {
    /// body(x index, weight index, output index) for every tap whose input pixel lies inside the image.
    static func forEachTap(_ s: Conv2dShape, _ body: (Int, Int, Int) -> Void) {
        for n in 0..<s.batch {
            for o in 0..<s.outChannels {
                for oh in 0..<s.outHeight {
                    for ow in 0..<s.outWidth {
                        let out = ((n * s.outChannels + o) * s.outHeight + oh) * s.outWidth + ow
                        for c in 0..<s.inChannels {
                            for i in 0..<s.kernelHeight {
                                for j in 0..<s.kernelWidth {
                                    let ih = oh * s.stride + i - s.padding, iw = ow * s.stride + j - s.padding
                                    guard ih >= 0, ih < s.height, iw >= 0, iw < s.width else { continue }
                                    body(((n * s.inChannels + c) * s.height + ih) * s.width + iw,
                                         ((o * s.inChannels + c) * s.kernelHeight + i) * s.kernelWidth + j, out)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// out [N, Cout, Ho, Wo] = conv(x, w) + b.
    static func forward(_ x: [Float], _ w: [Float], _ b: [Float]?, _ s: Conv2dShape) -> [Float] {
        var out = [Double](repeating: 0, count: s.batch * s.outChannels * s.outPlane)
        if let b { for i in out.indices { out[i] = Double(b[(i / s.outPlane) % s.outChannels]) } }
        forEachTap(s) { xi, wi, oi in out[oi] += Double(x[xi]) * Double(w[wi]) }
        return out.map { Float($0) }
    }

    /// dx [N, Cin, H, W] given dout g.
    static func dataGradient(_ g: [Float], _ w: [Float], _ s: Conv2dShape) -> [Float] {
        var dx = [Double](repeating: 0, count: s.batch * s.inChannels * s.inPlane)
        forEachTap(s) { xi, wi, oi in dx[xi] += Double(g[oi]) * Double(w[wi]) }
        return dx.map { Float($0) }
    }

    /// dw [Cout, Cin, kh, kw] given x and dout g.
    static func weightGradient(_ x: [Float], _ g: [Float], _ s: Conv2dShape) -> [Float] {
        var dw = [Double](repeating: 0, count: s.outChannels * s.patch)
        forEachTap(s) { xi, wi, oi in dw[wi] += Double(g[oi]) * Double(x[xi]) }
        return dw.map { Float($0) }
    }
}
