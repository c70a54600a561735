import Foundation

/// Winograd F(4×4, 3×3) for the forward pass and both gradients of 3×3, stride-1, padding-1 convolutions
/// (`ConvolutionPlan.winogradTile` / `weightGradientTile` 4): each 4×4 output tile costs 36 multiplies per (input, output) channel
/// pair instead of im2col's 144 — 4× fewer GEMM FLOPs, against F(2×2, 3×3)'s 2.25× — as 36 GEMMs
/// M[ξ] = U[ξ]·V[ξ], one per position ξ of the 6×6 transformed tile (Lavin & Gray 2015, interpolation
/// points 0, ±1, ±2, ∞):
///
///     Bᵀ = [4  0 −5  0 1 0;  0 −4 −4  1 1 0;  0  4 −4 −1 1 0;  0 −2 −1  2 1 0;  0  2 −1 −2 1 0;  0 4 0 −5 0 1]
///     G  = [¼ 0 0;  −⅙ −⅙ −⅙;  −⅙ ⅙ −⅙;  1⁄24 1⁄12 ⅙;  1⁄24 −1⁄12 ⅙;  0 0 1]
///     Aᵀ = [1 1 1 1 1 0;  0 1 −1 2 −2 0;  0 1 1 4 4 0;  0 1 −1 8 −8 1]
///
/// The larger coefficients cost precision: about 1e-6 of the output's scale at U-Net sizes against F(2×2)'s
/// 1e-7 (tests: within 2e-5 of a Double reference). Layouts as in `WinogradKernels`, with 36 ξ planes and
/// ⌈H/4⌉·⌈W/4⌉ tiles per sample. The weight gradient is dU[ξ] = Σ_t (A dY_t Aᵀ)[ξ] · V_t[ξ]ᵀ, dW = Gᵀ dU G,
/// as for F(2×2).
extension WinogradKernels {
    /// Transformed-tile positions of F(4×4, 3×3).
    static let positions4 = 36

    /// Tiles of one sample for F(4×4): ⌈H/4⌉·⌈W/4⌉.
    static func tiles4(_ s: Conv2dShape) -> Int { ((s.height + 3) / 4) * ((s.width + 3) / 4) }

    // MARK: Transforms

    /// G·(a, b, c): one 3-vector to 6.
    @inline(__always)
    static func g6<V: SIMD>(_ a: V, _ b: V, _ c: V) -> (V, V, V, V, V, V) where V.Scalar == Float {
        let ac = a + c
        let p = V(repeating: -1 / 6) * (ac + b), q = V(repeating: -1 / 6) * (ac - b)
        let r = V(repeating: 1 / 24) * a + V(repeating: 1 / 6) * c, s = V(repeating: 1 / 12) * b
        return (V(repeating: 0.25) * a, p, q, r + s, r - s, c)
    }

    /// Bᵀ·(d0 … d5): one 6-vector to 6.
    @inline(__always)
    static func b6<V: SIMD>(_ d0: V, _ d1: V, _ d2: V, _ d3: V, _ d4: V, _ d5: V) -> (V, V, V, V, V, V)
        where V.Scalar == Float {
        let four = V(repeating: 4), two = V(repeating: 2), five = V(repeating: 5)
        let t1 = d4 - four * d2, t2 = d3 - four * d1   // −4d1 − 4d2 + d3 + d4 = t1 + t2, 4d1 − 4d2 − d3 + d4 = t1 − t2
        let t3 = d4 - d2, t4 = two * (d3 - d1)         // −2d1 − d2 + 2d3 + d4 = t3 + t4, 2d1 − d2 − 2d3 + d4 = t3 − t4
        return (four * d0 - five * d2 + d4, t1 + t2, t1 - t2, t3 + t4, t3 - t4, four * d1 - five * d3 + d5)
    }

    /// Stores a transformed column: t.i at ξ = 6i + j, ξ planes `planeStride` apart.
    @inline(__always)
    static func store6<V: SIMD>(_ t: (V, V, V, V, V, V), column j: Int, _ dst: UnsafeMutablePointer<Float>,
                                planeStride: Int, count: Int) where V.Scalar == Float {
        store(t.0, dst + j * planeStride, count: count)
        store(t.1, dst + (6 + j) * planeStride, count: count)
        store(t.2, dst + (12 + j) * planeStride, count: count)
        store(t.3, dst + (18 + j) * planeStride, count: count)
        store(t.4, dst + (24 + j) * planeStride, count: count)
        store(t.5, dst + (30 + j) * planeStride, count: count)
    }

    /// Aᵀ·(m0 … m5): one 6-vector to 4.
    @inline(__always)
    static func a4<V: SIMD>(_ m0: V, _ m1: V, _ m2: V, _ m3: V, _ m4: V, _ m5: V) -> (V, V, V, V)
        where V.Scalar == Float {
        let s12 = m1 + m2, d12 = m1 - m2, s34 = m3 + m4, d34 = m3 - m4
        return (m0 + s12 + s34, d12 + V(repeating: 2) * d34, s12 + V(repeating: 4) * s34, d12 + V(repeating: 8) * d34 + m5)
    }

    /// U[ξ] = G g Gᵀ (6×6) for every 3×3 kernel g of `weight` [Cout, Cin, 3, 3]; `dataGradient` as in
    /// `transformWeights`. ξ planes are `planeSize(Cout·Cin)` apart.
    static func transformWeights4(_ weight: UnsafePointer<Float>, outChannels cout: Int, inChannels cin: Int,
                                  dataGradient: Bool, _ u: UnsafeMutablePointer<Float>) {
        let plane = planeSize(cout * cin)
        eachKernelRow(weight, outChannels: cout, inChannels: cin, dataGradient: dataGradient, u) { k, stride, dst, n, wide in
            if wide {
                weightChunk4(SIMD8<Float>.self, k, stride: stride, dst, plane: plane, count: n)
            } else {
                weightChunk4(SIMD4<Float>.self, k, stride: stride, dst, plane: plane, count: n)
            }
        }
    }

    @inline(__always)
    static func weightChunk4<V: SIMD>(_: V.Type, _ k: UnsafePointer<Float>, stride: Int,
                                      _ dst: UnsafeMutablePointer<Float>, plane: Int, count: Int)
        where V.Scalar == Float {
        func tap(_ i: Int) -> V { load(k + i * stride, V.self) }
        // G along the kernel's columns (3 taps → 6) for each of its 3 rows, then G down the rows.
        let r0 = g6(tap(0), tap(1), tap(2)), r1 = g6(tap(3), tap(4), tap(5)), r2 = g6(tap(6), tap(7), tap(8))
        func column(_ j: Int, _ a: V, _ b: V, _ c: V) { store6(g6(a, b, c), column: j, dst, planeStride: plane, count: count) }
        column(0, r0.0, r1.0, r2.0)
        column(1, r0.1, r1.1, r2.1)
        column(2, r0.2, r1.2, r2.2)
        column(3, r0.3, r1.3, r2.3)
        column(4, r0.4, r1.4, r2.4)
        column(5, r0.5, r1.5, r2.5)
    }

    /// V[ξ, c, t] = (Bᵀ d B)[ξ] for the 6×6 tile d (rows and columns 4t − 1 … 4t + 4, zeros past the image)
    /// of every tile t of `channels` of one sample x [C, H, W]. `v` points at the sample's first column;
    /// channel rows are `ld` apart, ξ planes `planeStride`.
    static func transformInput4(_ x: UnsafePointer<Float>, height h: Int, width w: Int, channels: Range<Int>,
                                _ v: UnsafeMutablePointer<Float>, ld: Int, planeStride: Int) {
        let th = (h + 3) / 4, tw = (w + 3) / 4
        // Each padded row (padded column c = input column c − 1) is split into its four phases
        // P_k[t] = row[4t + k], so a tile's six columns P0[t], P1[t], P2[t], P3[t], P0[t + 1], P1[t + 1]
        // are unit-stride vector loads across tiles.
        let rows = 4 * th + 2, stride = tw + 9   // slack for an 8-wide load at t + 1
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 4 * rows * stride) { buf in
            let p = buf.baseAddress!
            p.initialize(repeating: 0, count: 4 * rows * stride)   // padding stays 0: every channel writes the same slots
            var c = channels.lowerBound
            while c < channels.upperBound {
                let plane = x + c * h * w
                for r in 0..<h {
                    let src = plane + r * w, dst = p + (r + 1) * 4 * stride
                    for ic in 0..<w {
                        let pc = ic + 1
                        dst[(pc & 3) * stride + (pc >> 2)] = src[ic]
                    }
                }
                for ty in 0..<th {
                    let base = p + 4 * ty * 4 * stride
                    let out = v + c * ld + ty * tw
                    chunks(tw) { t0, n, wide in
                        if wide {
                            inputChunk4(SIMD8<Float>.self, base + t0, stride: stride, out + t0, planeStride: planeStride, count: n)
                        } else {
                            inputChunk4(SIMD4<Float>.self, base + t0, stride: stride, out + t0, planeStride: planeStride, count: n)
                        }
                    }
                }
                c += 1
            }
        }
    }

    @inline(__always)
    static func inputChunk4<V: SIMD>(_: V.Type, _ p: UnsafePointer<Float>, stride: Int,
                                     _ dst: UnsafeMutablePointer<Float>, planeStride: Int, count: Int)
        where V.Scalar == Float {
        // d B for each of the tile's 6 rows (row k's phases start at p + 4k·stride), then Bᵀ down them.
        func row(_ k: Int) -> (V, V, V, V, V, V) {
            let q = p + 4 * k * stride
            return b6(load(q, V.self), load(q + stride, V.self), load(q + 2 * stride, V.self),
                      load(q + 3 * stride, V.self), load(q + 1, V.self), load(q + stride + 1, V.self))
        }
        let r0 = row(0), r1 = row(1), r2 = row(2), r3 = row(3), r4 = row(4), r5 = row(5)
        func column(_ j: Int, _ d0: V, _ d1: V, _ d2: V, _ d3: V, _ d4: V, _ d5: V) {
            store6(b6(d0, d1, d2, d3, d4, d5), column: j, dst, planeStride: planeStride, count: count)
        }
        column(0, r0.0, r1.0, r2.0, r3.0, r4.0, r5.0)
        column(1, r0.1, r1.1, r2.1, r3.1, r4.1, r5.1)
        column(2, r0.2, r1.2, r2.2, r3.2, r4.2, r5.2)
        column(3, r0.3, r1.3, r2.3, r3.3, r4.3, r5.3)
        column(4, r0.4, r1.4, r2.4, r3.4, r4.4, r5.4)
        column(5, r0.5, r1.5, r2.5, r3.5, r4.5, r5.5)
    }

    /// out[o] = Aᵀ M A + bias[o] (4×4 per tile) for `channels` of one sample out [Cout, H, W]. `m` points at
    /// the sample's first column; channel rows are `ld` apart, ξ planes `planeStride`.
    static func transformOutput4(_ m: UnsafePointer<Float>, ld: Int, planeStride: Int, height h: Int, width w: Int,
                                 channels: Range<Int>, bias: UnsafePointer<Float>?, _ out: UnsafeMutablePointer<Float>) {
        let th = (h + 3) / 4, tw = (w + 3) / 4
        // The 4 × 4 output phases y[a][b][t] = out[4ty + a, 4t + b] of one tile row, interleaved afterwards.
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 16 * (tw + 8)) { buf in
            let y = buf.baseAddress!, ys = tw + 8
            var oc = channels.lowerBound
            while oc < channels.upperBound {
                let bv = bias?[oc] ?? 0
                let plane = out + oc * h * w
                for ty in 0..<th {
                    let src = m + oc * ld + ty * tw
                    chunks(tw) { t0, n, wide in
                        if wide {
                            outputChunk4(SIMD8<Float>.self, src + t0, planeStride: planeStride, bias: bv, y + t0, ys, count: n)
                        } else {
                            outputChunk4(SIMD4<Float>.self, src + t0, planeStride: planeStride, bias: bv, y + t0, ys, count: n)
                        }
                    }
                    for a in 0..<4 where 4 * ty + a < h {
                        let dst = plane + (4 * ty + a) * w, ya = y + 4 * a * ys
                        let full = w / 4
                        for t in 0..<full {
                            dst[4 * t] = ya[t]
                            dst[4 * t + 1] = ya[ys + t]
                            dst[4 * t + 2] = ya[2 * ys + t]
                            dst[4 * t + 3] = ya[3 * ys + t]
                        }
                        for col in (4 * full)..<w { dst[col] = ya[(col & 3) * ys + full] }
                    }
                }
                oc += 1
            }
        }
    }

    /// Writes y[(4a + b)·ys] = output row a, column b of each tile in the chunk.
    @inline(__always)
    static func outputChunk4<V: SIMD>(_: V.Type, _ m: UnsafePointer<Float>, planeStride: Int, bias: Float,
                                      _ y: UnsafeMutablePointer<Float>, _ ys: Int, count: Int)
        where V.Scalar == Float {
        func at(_ xi: Int) -> V { load(m + xi * planeStride, V.self) }
        // Aᵀ down each of the 6 columns, then along each of the 4 resulting rows.
        func column(_ j: Int) -> (V, V, V, V) { a4(at(j), at(6 + j), at(12 + j), at(18 + j), at(24 + j), at(30 + j)) }
        let c0 = column(0), c1 = column(1), c2 = column(2), c3 = column(3), c4 = column(4), c5 = column(5)
        let b = V(repeating: bias)
        func row(_ a: Int, _ m0: V, _ m1: V, _ m2: V, _ m3: V, _ m4: V, _ m5: V) {
            let r = a4(m0, m1, m2, m3, m4, m5)
            store(r.0 + b, y + 4 * a * ys, count: count)
            store(r.1 + b, y + (4 * a + 1) * ys, count: count)
            store(r.2 + b, y + (4 * a + 2) * ys, count: count)
            store(r.3 + b, y + (4 * a + 3) * ys, count: count)
        }
        row(0, c0.0, c1.0, c2.0, c3.0, c4.0, c5.0)
        row(1, c0.1, c1.1, c2.1, c3.1, c4.1, c5.1)
        row(2, c0.2, c1.2, c2.2, c3.2, c4.2, c5.2)
        row(3, c0.3, c1.3, c2.3, c3.3, c4.3, c5.3)
    }

    /// A·(y0 … y3): one 4-vector to 6 (A = (Aᵀ)ᵀ, for the output gradient).
    @inline(__always)
    static func a6<V: SIMD>(_ y0: V, _ y1: V, _ y2: V, _ y3: V) -> (V, V, V, V, V, V) where V.Scalar == Float {
        let e = y0 + y2, o = y1 + y3
        let e4 = y0 + V(repeating: 4) * y2, o2 = V(repeating: 2) * y1 + V(repeating: 8) * y3
        return (y0, e + o, e - o, e4 + o2, e4 - o2, y3)
    }

    /// Gᵀ·(d0 … d5): one 6-vector to 3 (for the weight gradient).
    @inline(__always)
    static func gt3(_ d0: Float, _ d1: Float, _ d2: Float, _ d3: Float, _ d4: Float, _ d5: Float) -> (Float, Float, Float) {
        let s12 = d1 + d2, s34 = d3 + d4
        return (0.25 * d0 - s12 / 6 + s34 / 24, (d2 - d1) / 6 + (d3 - d4) / 12, (s34 - s12) / 6 + d5)
    }

    /// Mg[ξ, o, t] = (A dY Aᵀ)[ξ] for the 4×4 output-gradient tile dY of every tile t of `channels` of one
    /// sample dout [C, H, W] (zeros past the image). `m` points at the sample's first column; channel rows are
    /// `ld` apart, ξ planes `planeStride`.
    static func transformOutputGradient4(_ dout: UnsafePointer<Float>, height h: Int, width w: Int, channels: Range<Int>,
                                         _ m: UnsafeMutablePointer<Float>, ld: Int, planeStride: Int) {
        let th = (h + 3) / 4, tw = (w + 3) / 4, ys = tw + 8
        // The tile row's 4 output rows split into the 4 column phases: y[(4a + b)·ys + t] = dY[4ty + a, 4t + b].
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 16 * ys) { buf in
            let y = buf.baseAddress!
            y.initialize(repeating: 0, count: 16 * ys)  // columns past the image and the slack stay 0
            var c = channels.lowerBound
            while c < channels.upperBound {
                let plane = dout + c * h * w
                for ty in 0..<th {
                    for a in 0..<4 {
                        let ya = y + 4 * a * ys
                        if 4 * ty + a < h {
                            let src = plane + (4 * ty + a) * w
                            for col in 0..<w { ya[(col & 3) * ys + (col >> 2)] = src[col] }
                        } else {
                            ya.initialize(repeating: 0, count: 4 * ys)
                        }
                    }
                    let dst = m + c * ld + ty * tw
                    chunks(tw) { t0, n, wide in
                        if wide {
                            outputGradientChunk4(SIMD8<Float>.self, y + t0, ys, dst + t0, planeStride: planeStride, count: n)
                        } else {
                            outputGradientChunk4(SIMD4<Float>.self, y + t0, ys, dst + t0, planeStride: planeStride, count: n)
                        }
                    }
                }
                c += 1
            }
        }
    }

    @inline(__always)
    static func outputGradientChunk4<V: SIMD>(_: V.Type, _ y: UnsafePointer<Float>, _ ys: Int,
                                              _ dst: UnsafeMutablePointer<Float>, planeStride: Int, count: Int)
        where V.Scalar == Float {
        func at(_ a: Int, _ b: Int) -> V { load(y + (4 * a + b) * ys, V.self) }
        // dY Aᵀ along each of the 4 rows (4 → 6 columns), then A down each column (4 → 6 rows).
        let r0 = a6(at(0, 0), at(0, 1), at(0, 2), at(0, 3)), r1 = a6(at(1, 0), at(1, 1), at(1, 2), at(1, 3))
        let r2 = a6(at(2, 0), at(2, 1), at(2, 2), at(2, 3)), r3 = a6(at(3, 0), at(3, 1), at(3, 2), at(3, 3))
        func column(_ j: Int, _ y0: V, _ y1: V, _ y2: V, _ y3: V) {
            store6(a6(y0, y1, y2, y3), column: j, dst, planeStride: planeStride, count: count)
        }
        column(0, r0.0, r1.0, r2.0, r3.0)
        column(1, r0.1, r1.1, r2.1, r3.1)
        column(2, r0.2, r1.2, r2.2, r3.2)
        column(3, r0.3, r1.3, r2.3, r3.3)
        column(4, r0.4, r1.4, r2.4, r3.4)
        column(5, r0.5, r1.5, r2.5, r3.5)
    }

    /// dW[k] = Gᵀ dU[·, k] G (6×6 → 3×3) for the `count` kernels k of du [36][count] (ξ planes `plane` apart),
    /// written as [count, 3, 3].
    static func transformWeightGradient4(_ du: UnsafePointer<Float>, plane: Int, count: Int, _ dw: UnsafeMutablePointer<Float>) {
        Threading.parallelRanges(count, minChunk: 2048) { range in
            for k in range {
                func at(_ i: Int, _ j: Int) -> Float { du[(6 * i + j) * plane + k] }
                // Gᵀ down each of the 6 columns (6 → 3 rows), then along each row (6 → 3).
                var rows = [(Float, Float, Float)](repeating: (0, 0, 0), count: 6)
                for j in 0..<6 { rows[j] = gt3(at(0, j), at(1, j), at(2, j), at(3, j), at(4, j), at(5, j)) }
                let g = dw + k * 9
                let t0 = gt3(rows[0].0, rows[1].0, rows[2].0, rows[3].0, rows[4].0, rows[5].0)
                let t1 = gt3(rows[0].1, rows[1].1, rows[2].1, rows[3].1, rows[4].1, rows[5].1)
                let t2 = gt3(rows[0].2, rows[1].2, rows[2].2, rows[3].2, rows[4].2, rows[5].2)
                (g[0], g[1], g[2]) = t0
                (g[3], g[4], g[5]) = t1
                (g[6], g[7], g[8]) = t2
            }
        }
    }

    // MARK: Convolution

    /// `plan` with its samples per GEMM scaled to F(4×4)'s four times fewer tiles (`winogradGroup` counts
    /// F(2×2) tiles, which dWeight uses), so the GEMMs keep their width; still at least one group per core.
    static func groupPlan4(_ s: Conv2dShape, _ plan: ConvolutionPlan) -> ConvolutionPlan {
        var p = plan
        var group = min(plan.winogradGroup * 4, max(1, s.batch))
        if plan.perCore && s.batch >= Threading.cores { group = min(group, s.batch / Threading.cores) }
        p.winogradGroup = max(1, group)
        return p
    }
}
