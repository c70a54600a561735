import Foundation

/// Sums with SIMD accumulators (a plain float reduction loop does not vectorise: the compiler may not
/// reorder float additions). Blocks of 4096 values are summed in Float lanes and folded into a Double,
/// so long sums keep ~1e-7 relative accuracy.
public enum ReductionKernels {
    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
    }

    /// Σ x[0..<count] on the calling thread.
    public static func sum(_ x: UnsafePointer<Float>, count: Int) -> Double {
        var total = 0.0
        var j = 0
        while j < count {
            let end = min(count, j + 4096)
            var a0 = SIMD16<Float>(), a1 = SIMD16<Float>()
            while j + 32 <= end {
                a0 += load(x + j)
                a1 += load(x + j + 16)
                j += 32
            }
            if j + 16 <= end { a0 += load(x + j); j += 16 }
            var tail: Float = 0
            while j < end { tail += x[j]; j += 1 }
            total += Double((a0 + a1).sum()) + Double(tail)
        }
        return total
    }

    /// Σ x[0..<count], split across cores for large inputs.
    public static func parallelSum(_ x: UnsafePointer<Float>, count: Int) -> Double {
        let parts = min(Threading.cores, max(1, count / (1 << 16)))
        if parts == 1 { return sum(x, count: count) }
        var partial = [Double](repeating: 0, count: parts)
        partial.withUnsafeMutableBufferPointer { buf in
            let out = buf.baseAddress!
            Threading.parallelFor(parts) { p in
                let lo = count * p / parts, hi = count * (p + 1) / parts
                out[p] = sum(x + lo, count: hi - lo)
            }
        }
        return partial.reduce(0, +)
    }

    /// out[r] = scale · Σ_c x[r·cols + c]: per-sample means, and sums over a trailing axis.
    public static func sumRows(_ x: UnsafePointer<Float>, rows: Int, cols: Int, scale: Float = 1,
                               _ out: UnsafeMutablePointer<Float>) {
        Threading.parallelRanges(rows, minChunk: max(1, (1 << 16) / max(cols, 1))) { r in
            for i in r { out[i] = Float(Double(scale) * sum(x + i * cols, count: cols)) }
        }
    }

    /// Sum over the middle axis of x viewed as [outer, axis, inner] → out [outer, inner].
    public static func sumAxis(_ x: UnsafePointer<Float>, outer: Int, axis: Int, inner: Int, scale: Float = 1,
                               _ out: UnsafeMutablePointer<Float>) {
        if inner == 1 {
            sumRows(x, rows: outer, cols: axis, scale: scale, out)
            return
        }
        // Row additions (vectorised across `inner`); work split over `outer` when it allows.
        Threading.parallelRanges(outer, minChunk: max(1, (1 << 16) / max(axis * inner, 1))) { r in
            for o in r {
                let dst = out + o * inner
                let src = x + o * axis * inner
                dst.initialize(repeating: 0, count: inner)
                for k in 0..<axis {
                    let row = src + k * inner
                    for i in 0..<inner { dst[i] += row[i] }
                }
                if scale != 1 { for i in 0..<inner { dst[i] *= scale } }
            }
        }
    }

    /// Backward of `sumAxis`: dx[o, k, i] = scale · g[o, i].
    public static func broadcastAxis(_ g: UnsafePointer<Float>, outer: Int, axis: Int, inner: Int, scale: Float = 1,
                                     _ dx: UnsafeMutablePointer<Float>) {
        Threading.parallelRanges(outer, minChunk: max(1, (1 << 16) / max(axis * inner, 1))) { r in
            for o in r {
                let src = g + o * inner
                for k in 0..<axis {
                    let dst = dx + (o * axis + k) * inner
                    for i in 0..<inner { dst[i] = scale * src[i] }
                }
            }
        }
    }

    /// out[c] = Σ_r x[r·cols + c]: bias gradients of a linear layer ([rows, cols] → [cols]).
    public static func sumColumns(_ x: UnsafePointer<Float>, rows: Int, cols: Int, _ out: UnsafeMutablePointer<Float>) {
        sumAxis(x, outer: 1, axis: rows, inner: cols, out)
    }

    /// out[c] = Σ_n Σ_p x[(n·channels + c)·plane + p]: bias gradients of a convolution ([N, C, plane] → [C]).
    public static func sumChannels(_ x: UnsafePointer<Float>, batch: Int, channels: Int, plane: Int,
                                   _ out: UnsafeMutablePointer<Float>) {
        let perRow = UnsafeMutablePointer<Float>.allocate(capacity: batch * channels)
        defer { perRow.deallocate() }
        sumRows(x, rows: batch * channels, cols: plane, perRow)
        for c in 0..<channels {
            var s = 0.0
            for n in 0..<batch { s += Double(perRow[n * channels + c]) }
            out[c] = Float(s)
        }
    }
}
