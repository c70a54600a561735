import Foundation

/// Nearest-neighbour 2× upsampling of NCHW planes (diffusers' Upsample2D before its conv).
public enum ResampleKernels {
    /// out[p, 2i + a, 2j + b] = x[p, i, j] for a, b ∈ {0, 1}, over `planes` = N·C planes of height×width.
    public static func upsampleNearest2xForward(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                                                planes: Int, height: Int, width: Int) {
        let plane = height * width, ow = 2 * width
        Threading.parallelRanges(planes, minChunk: max(1, (1 << 15) / max(plane, 1))) { r in
            for p in r {
                let src = x + p * plane, dst = out + p * 4 * plane
                for i in 0..<height {
                    let row = src + i * width, d0 = dst + 2 * i * ow
                    for j in 0..<width {
                        let v = row[j]
                        d0[2 * j] = v
                        d0[2 * j + 1] = v
                    }
                    (d0 + ow).update(from: d0, count: ow)  // the second output row repeats the first
                }
            }
        }
    }

    /// dx[p, i, j] = Σ of the 2×2 block of g it was copied to.
    public static func upsampleNearest2xBackward(_ g: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
                                                 planes: Int, height: Int, width: Int) {
        let plane = height * width, ow = 2 * width
        Threading.parallelRanges(planes, minChunk: max(1, (1 << 15) / max(plane, 1))) { r in
            for p in r {
                let src = g + p * 4 * plane, dst = dx + p * plane
                for i in 0..<height {
                    let g0 = src + 2 * i * ow, g1 = g0 + ow, d = dst + i * width
                    for j in 0..<width {
                        d[j] = (g0[2 * j] + g0[2 * j + 1]) + (g1[2 * j] + g1[2 * j + 1])
                    }
                }
            }
        }
    }
}
