/// Group and layer normalisation (torch semantics: biased variance, eps inside the square root, affine
/// per channel / per feature), forward and backward side by side. The forward saves the mean and the
/// reciprocal standard deviation per normalised group, which is all the backward needs besides x.
public enum NormalizationKernels {
    public typealias V = SIMD16<Float>

    // MARK: Reductions

    /// Σ p[i] over n floats: SIMD accumulators, flushed to Double every 1024 elements so long groups
    /// (e.g. 4 channels × 64×64) keep Float-rounding errors out of the mean.
    @inlinable
    static func sum(_ p: UnsafePointer<Float>, _ n: Int) -> Double {
        var total = 0.0
        var i = 0
        while i < n {
            let end = Swift.min(n, i + 1024)
            var a0 = V(repeating: 0), a1 = V(repeating: 0)
            while i + 32 <= end {
                a0 += FastMath.load(p + i)
                a1 += FastMath.load(p + i + 16)
                i += 32
            }
            if i + 16 <= end { a0 += FastMath.load(p + i); i += 16 }
            var tail: Float = 0
            while i < end { tail += p[i]; i += 1 }
            total += Double((a0 + a1).sum() + tail)
        }
        return total
    }

    /// Σ (p[i] − mean)² over n floats (the second pass of a two-pass variance).
    @inlinable
    static func sumSquaredDeviations(_ p: UnsafePointer<Float>, _ n: Int, mean: Float) -> Double {
        var total = 0.0
        var i = 0
        let m = V(repeating: mean)
        while i < n {
            let end = Swift.min(n, i + 1024)
            var a0 = V(repeating: 0), a1 = V(repeating: 0)
            while i + 32 <= end {
                let d0 = FastMath.load(p + i) - m, d1 = FastMath.load(p + i + 16) - m
                a0 = a0.addingProduct(d0, d0)
                a1 = a1.addingProduct(d1, d1)
                i += 32
            }
            if i + 16 <= end { let d = FastMath.load(p + i) - m; a0 = a0.addingProduct(d, d); i += 16 }
            var tail: Float = 0
            while i < end { let d = p[i] - mean; tail += d * d; i += 1 }
            total += Double((a0 + a1).sum() + tail)
        }
        return total
    }

    /// (Σ dy, Σ dy·(x − mean)) over n floats, in one pass.
    @inlinable
    static func gradientSums(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ n: Int,
                             mean: Float) -> (Double, Double) {
        var s1 = 0.0, s2 = 0.0
        var i = 0
        let m = V(repeating: mean)
        while i < n {
            let end = Swift.min(n, i + 1024)
            var a = V(repeating: 0), b = V(repeating: 0)
            while i + 16 <= end {
                let g = FastMath.load(dy + i)
                a += g
                b = b.addingProduct(g, FastMath.load(x + i) - m)
                i += 16
            }
            var ta: Float = 0, tb: Float = 0
            while i < end { ta += dy[i]; tb += dy[i] * (x[i] - mean); i += 1 }
            s1 += Double(a.sum() + ta)
            s2 += Double(b.sum() + tb)
        }
        return (s1, s2)
    }

    // MARK: Elementwise pieces (structs, so `FastMath.map` inlines them)

    /// x·scale + shift
    struct ScaleShift: VectorFunction {
        let scale: V, shift: V
        init(_ scale: Float, _ shift: Float) { self.scale = V(repeating: scale); self.shift = V(repeating: shift) }
        @inline(__always) func callAsFunction(_ x: V) -> V { shift.addingProduct(x, scale) }
    }

    /// silu(x·scale + shift): GroupNorm followed by SiLU in one pass.
    struct ScaleShiftSiLU: VectorFunction {
        let scale: V, shift: V
        init(_ scale: Float, _ shift: Float) { self.scale = V(repeating: scale); self.shift = V(repeating: shift) }
        @inline(__always) func callAsFunction(_ x: V) -> V {
            let z = shift.addingProduct(x, scale)
            return z * FastMath.sigmoid(z)
        }
    }

    /// dz = dy·silu′(z) for z = x·scale + shift recomputed from x (the fused op keeps no z).
    struct SiLUGradientThroughAffine: VectorFunction2 {
        let scale: V, shift: V
        init(_ scale: Float, _ shift: Float) { self.scale = V(repeating: scale); self.shift = V(repeating: shift) }
        @inline(__always) func callAsFunction(_ x: V, _ g: V) -> V {
            let z = shift.addingProduct(x, scale), s = FastMath.sigmoid(z)
            return g * s * (1 + z * (1 - s))
        }
    }

    /// dx = a·dy + b·(x − mean) + c (a = rstd·w, b = −rstd²·meanB, c = −rstd·meanA); centring x first
    /// keeps a large mean from cancelling.
    struct GroupNormInputGradient: VectorFunction2 {
        let a: V, b: V, mean: V, c: V
        init(_ a: Float, _ b: Float, _ mean: Float, _ c: Float) {
            self.a = V(repeating: a); self.b = V(repeating: b); self.mean = V(repeating: mean); self.c = V(repeating: c)
        }
        @inline(__always) func callAsFunction(_ dy: V, _ x: V) -> V { c.addingProduct(a, dy).addingProduct(b, x - mean) }
    }

    /// x̂ = (x − mean)·rstd
    struct Standardize: VectorFunction {
        let mean: V, rstd: V
        init(_ mean: Float, _ rstd: Float) { self.mean = V(repeating: mean); self.rstd = V(repeating: rstd) }
        @inline(__always) func callAsFunction(_ x: V) -> V { (x - mean) * rstd }
    }

    /// (x − mean)·rstd·w + b
    struct StandardizeAffine: VectorFunction3 {
        let mean: V, rstd: V
        init(_ mean: Float, _ rstd: Float) { self.mean = V(repeating: mean); self.rstd = V(repeating: rstd) }
        @inline(__always) func callAsFunction(_ x: V, _ w: V, _ b: V) -> V { b.addingProduct((x - mean) * rstd, w) }
    }

    /// dx = rstd·(dy·w − meanA − x̂·meanB)
    struct LayerNormInputGradient: VectorFunction3 {
        let rstd: V, meanA: V, meanB: V
        init(_ rstd: Float, _ meanA: Float, _ meanB: Float) {
            self.rstd = V(repeating: rstd); self.meanA = V(repeating: meanA); self.meanB = V(repeating: meanB)
        }
        @inline(__always) func callAsFunction(_ g: V, _ w: V, _ xhat: V) -> V { rstd * (g * w - meanA - xhat * meanB) }
    }

    // MARK: GroupNorm

    /// x, y: [batch, channels, spatial]; each (sample, group) of channels/groups consecutive channels is
    /// normalised over its channels·spatial values. weight/bias: [channels] or nil (1 and 0).
    /// mean, rstd: [batch, groups], written for the backward pass. With `silu`, y = silu(groupNorm(x)) in
    /// the same pass (diffusers' norm → SiLU in every ResNet block), and the normalised values are never stored.
    public static func groupNormForward(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>?,
                                        bias: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>,
                                        mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
                                        batch: Int, channels: Int, spatial: Int, groups: Int, eps: Float,
                                        silu: Bool = false) {
        let perGroup = channels / groups
        let len = perGroup * spatial
        guard len > 0 else { return }
        Threading.parallelRanges(batch * groups, minChunk: max(1, (1 << 16) / len)) { r in
            for item in r {
                let n = item / groups, g = item % groups
                let base = (n * channels + g * perGroup) * spatial
                let m = Float(sum(x + base, len) / Double(len))
                let variance = Float(sumSquaredDeviations(x + base, len, mean: m) / Double(len))
                let rs = 1 / (variance + eps).squareRoot()
                mean[item] = m
                rstd[item] = rs
                for c in 0..<perGroup {
                    let ch = g * perGroup + c
                    let scale = rs * (weight?[ch] ?? 1), shift = (bias?[ch] ?? 0) - m * scale
                    let off = base + c * spatial
                    if silu {
                        FastMath.map(0..<spatial, x + off, y + off, ScaleShiftSiLU(scale, shift))
                    } else {
                        FastMath.map(0..<spatial, x + off, y + off, ScaleShift(scale, shift))
                    }
                }
            }
        }
    }

    /// dx = rstd·(w·dy − mean_g(w·dy) − x̂·mean_g(w·dy·x̂)) per group; dWeight[c] = Σ dy·x̂ and
    /// dBias[c] = Σ dy over samples and positions (skipped when nil). Per-sample channel sums go to a
    /// scratch [batch, channels] buffer so samples run in parallel without sharing accumulators.
    /// With `silu` (the fused forward), dy is the gradient of silu(groupNorm(x)): each group first turns it
    /// into the gradient of groupNorm(x), recomputing the normalised values from x, mean, rstd and `bias`.
    public static func groupNormBackward(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                                         mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
                                         weight: UnsafePointer<Float>?, _ dx: UnsafeMutablePointer<Float>,
                                         dWeight: UnsafeMutablePointer<Float>?, dBias: UnsafeMutablePointer<Float>?,
                                         batch: Int, channels: Int, spatial: Int, groups: Int,
                                         silu: Bool = false, bias: UnsafePointer<Float>? = nil) {
        let perGroup = channels / groups
        let len = perGroup * spatial
        guard len > 0 else { return }
        let sums = UnsafeMutablePointer<Float>.allocate(capacity: 2 * max(1, batch * channels))
        defer { sums.deallocate() }
        let sumDy = sums, sumDyXhat = sums + batch * channels
        Threading.parallelRanges(batch * groups, minChunk: max(1, (1 << 16) / len)) { r in
            // One group's gradient of the normalised output, when SiLU came after it.
            let groupGrad = silu ? UnsafeMutablePointer<Float>.allocate(capacity: len) : nil
            defer { groupGrad?.deallocate() }
            for item in r {
                let n = item / groups, g = item % groups
                let base = (n * channels + g * perGroup) * spatial
                let m = mean[item], rs = rstd[item]
                // This group's gradient of the normalised output: channel c at dyGroup + c·spatial.
                var dyGroup = dy + base
                if let groupGrad {
                    for c in 0..<perGroup {
                        let ch = g * perGroup + c
                        let scale = rs * (weight?[ch] ?? 1), shift = (bias?[ch] ?? 0) - m * scale
                        let off = base + c * spatial
                        FastMath.map(0..<spatial, x + off, dy + off, groupGrad + c * spatial,
                                     SiLUGradientThroughAffine(scale, shift))
                    }
                    dyGroup = UnsafePointer(groupGrad)
                }
                var a = 0.0, b = 0.0   // Σ w·dy and Σ w·dy·x̂ over the group
                for c in 0..<perGroup {
                    let ch = g * perGroup + c
                    let (s1, s2) = gradientSums(x + base + c * spatial, dyGroup + c * spatial, spatial, mean: m)
                    let w = Double(weight?[ch] ?? 1)
                    sumDy[n * channels + ch] = Float(s1)
                    sumDyXhat[n * channels + ch] = Float(s2) * rs
                    a += w * s1
                    b += w * s2 * Double(rs)
                }
                let meanA = Float(a / Double(len)), meanB = Float(b / Double(len))
                for c in 0..<perGroup {
                    let ch = g * perGroup + c
                    let off = base + c * spatial
                    let f = GroupNormInputGradient(rs * (weight?[ch] ?? 1), -rs * rs * meanB, m, -rs * meanA)
                    FastMath.map(0..<spatial, dyGroup + c * spatial, x + off, dx + off, f)
                }
            }
        }
        for c in 0..<channels {
            var sw: Float = 0, sb: Float = 0
            for n in 0..<batch {
                sw += sumDyXhat[n * channels + c]
                sb += sumDy[n * channels + c]
            }
            dWeight?[c] = sw
            dBias?[c] = sb
        }
    }

    // MARK: LayerNorm

    /// x, y: [rows, dim], each row normalised over its dim values; weight/bias: [dim] or nil.
    /// mean, rstd: [rows], written for the backward pass.
    public static func layerNormForward(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>?,
                                        bias: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>,
                                        mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
                                        rows: Int, dim: Int, eps: Float) {
        guard dim > 0 else { return }
        let ones = constantBuffer(weight == nil ? dim : 0, 1), zeros = constantBuffer(bias == nil ? dim : 0, 0)
        defer { ones.deallocate(); zeros.deallocate() }
        let w = weight ?? UnsafePointer(ones), b = bias ?? UnsafePointer(zeros)
        Threading.parallelRanges(rows, minChunk: max(1, (1 << 16) / dim)) { r in
            for row in r {
                let xr = x + row * dim
                let m = Float(sum(xr, dim) / Double(dim))
                let variance = Float(sumSquaredDeviations(xr, dim, mean: m) / Double(dim))
                let rs = 1 / (variance + eps).squareRoot()
                mean[row] = m
                rstd[row] = rs
                FastMath.map(0..<dim, xr, w, b, y + row * dim, StandardizeAffine(m, rs))
            }
        }
    }

    /// dx = rstd·(w·dy − mean(w·dy) − x̂·mean(w·dy·x̂)) per row; dWeight = Σ_rows dy·x̂, dBias = Σ_rows dy
    /// (skipped when nil), accumulated per worker and then summed.
    public static func layerNormBackward(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                                         mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
                                         weight: UnsafePointer<Float>?, _ dx: UnsafeMutablePointer<Float>,
                                         dWeight: UnsafeMutablePointer<Float>?, dBias: UnsafeMutablePointer<Float>?,
                                         rows: Int, dim: Int) {
        guard dim > 0 else { return }
        let parts = max(1, min(Threading.cores, rows * dim / (1 << 16), rows))
        let ones = constantBuffer(weight == nil ? dim : 0, 1)
        let partials = constantBuffer(2 * parts * dim, 0)   // per worker: [Σ dy·x̂ | Σ dy]
        defer { ones.deallocate(); partials.deallocate() }
        let w = weight ?? UnsafePointer(ones)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: parts * dim)  // x̂ of the current row
        defer { scratch.deallocate() }
        Threading.parallelFor(parts) { p in
            let pw = partials + 2 * p * dim, pb = pw + dim, xhat = scratch + p * dim
            for row in (rows * p / parts)..<(rows * (p + 1) / parts) {
                let xr = x + row * dim, gr = dy + row * dim
                FastMath.map(0..<dim, xr, xhat, Standardize(mean[row], rstd[row]))
                var a = V(repeating: 0), b = V(repeating: 0)
                var j = 0
                while j < dim {
                    let n = min(16, dim - j)
                    let g = n == 16 ? FastMath.load(gr + j) : FastMath.load(gr + j, count: n)
                    let h = n == 16 ? FastMath.load(xhat + j) : FastMath.load(xhat + j, count: n)
                    let wv = n == 16 ? FastMath.load(w + j) : FastMath.load(w + j, count: n)
                    let gw = g * wv
                    a += gw
                    b = b.addingProduct(gw, h)
                    if n == 16 {
                        FastMath.store(FastMath.load(pw + j).addingProduct(g, h), pw + j)
                        FastMath.store(FastMath.load(pb + j) + g, pb + j)
                    } else {
                        for k in 0..<n { pw[j + k] += g[k] * h[k]; pb[j + k] += g[k] }
                    }
                    j += 16
                }
                let f = LayerNormInputGradient(rstd[row], FastMath.horizontalSum(a) / Float(dim), FastMath.horizontalSum(b) / Float(dim))
                FastMath.map(0..<dim, gr, w, xhat, dx + row * dim, f)
            }
        }
        for j in 0..<dim {
            var sw: Float = 0, sb: Float = 0
            for p in 0..<parts { sw += partials[2 * p * dim + j]; sb += partials[2 * p * dim + dim + j] }
            dWeight?[j] = sw
            dBias?[j] = sb
        }
    }

    /// A buffer of `count` copies of `value` (for a missing weight or bias); caller deallocates.
    static func constantBuffer(_ count: Int, _ value: Float) -> UnsafeMutablePointer<Float> {
        let p = UnsafeMutablePointer<Float>.allocate(capacity: max(1, count))
        p.initialize(repeating: value, count: count)
        return p
    }
}
