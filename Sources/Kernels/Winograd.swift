import Foundation

/// 3×3, stride-1, padding-1 convolution by Winograd F(2×2, 3×3) (Lavin & Gray 2015): each 2×2 output tile
/// costs 16 multiplies per (input, output) channel pair instead of 36, so the GEMMs do 2.25× fewer FLOPs
/// than im2col's. With U = G g Gᵀ (weights), V = Bᵀ d B (4×4 input tiles, stride 2) and Y = Aᵀ (U ⊙ V) A,
/// the products over channels become 16 GEMMs M[ξ] = U[ξ]·V[ξ], one per position ξ of the 4×4 tile.
///
/// Layouts: U [16][Cout][Cin], V [16][Cin][columns], M [16][Cout][columns], where the columns are the
/// tiles (row-major over the tile grid) of `winogradGroup` samples side by side. Odd heights and widths
/// get edge tiles that read zeros past the image and drop the outputs that fall outside it.
/// The transforms' coefficients are 0, ±1 and ±½, so fp32 rounding stays close to im2col's.
/// F(4×4, 3×3) (36 GEMMs per tile, `WinogradF4.swift`) runs through the same `run` and `backwardWeight`,
/// each variant described by a `Tiling`; `ConvolutionPlan.winogradTile` / `weightGradientTile` choose.
public enum WinogradKernels {
    /// The shapes this kernel computes: 3×3 kernel, stride 1, padding 1 (output size = input size).
    public static func supports(_ s: Conv2dShape) -> Bool {
        s.kernelHeight == 3 && s.kernelWidth == 3 && s.stride == 1 && s.padding == 1
    }

    /// Tiles of one sample: ⌈H/2⌉·⌈W/2⌉.
    static func tiles(_ s: Conv2dShape) -> Int { ((s.height + 1) / 2) * ((s.width + 1) / 2) }

    // MARK: Transforms
    //
    // Each transform is elementwise along a row of tiles (or of kernels), written with explicit SIMD8
    // vectors (SIMD4 for a short tail) so that vectorising does not hinge on LLVM proving 16 input and
    // 16 output streams alias-free.

    @inline(__always)
    static func load<V: SIMD>(_ p: UnsafePointer<Float>, _: V.Type) -> V where V.Scalar == Float {
        UnsafeRawPointer(p).loadUnaligned(as: V.self)
    }

    /// Stores the first `count` lanes of `v`.
    @inline(__always)
    static func store<V: SIMD>(_ v: V, _ p: UnsafeMutablePointer<Float>, count: Int) where V.Scalar == Float {
        if count == V.scalarCount {
            UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
        } else {
            for l in 0..<count { p[l] = v[l] }
        }
    }

    /// Runs `body(start, count, wide)` over 0..<total in chunks of 8 (`wide`) or, for a tail of ≤ 4, of 4.
    @inline(__always)
    static func chunks(_ total: Int, _ body: (Int, Int, Bool) -> Void) {
        var t = 0
        while t < total {
            let r = total - t
            if r > 4 {
                body(t, min(r, 8), true)
                t += 8
            } else {
                body(t, r, false)
                t += 4
            }
        }
    }

    /// The distance between consecutive ξ planes of U, V or M holding `count` floats: one cache line more,
    /// because at power-of-two sizes (64 channels × 256 tiles = 64 KB) the transforms' 16 streams would all
    /// map to the same L1 set (measured 1.05–1.2× slower end to end without the extra line).
    static func planeSize(_ count: Int) -> Int { count + 16 }

    /// U[ξ] = G g Gᵀ for every 3×3 kernel g of `weight` [Cout, Cin, 3, 3], with
    /// G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]. Forward: U [16][Cout][Cin]. `dataGradient`: the kernel of
    /// dx = conv(dout, w rotated 180°, channels swapped), i.e. U [16][Cin][Cout] of the flipped kernels.
    /// ξ planes are `planeSize(Cout·Cin)` apart.
    static func transformWeights(_ weight: UnsafePointer<Float>, outChannels cout: Int, inChannels cin: Int,
                                 dataGradient: Bool, _ u: UnsafeMutablePointer<Float>) {
        let plane = planeSize(cout * cin)
        eachKernelRow(weight, outChannels: cout, inChannels: cin, dataGradient: dataGradient, u) { k, stride, dst, n, wide in
            if wide {
                weightChunk(SIMD8<Float>.self, k, stride: stride, dst, plane: plane, count: n)
            } else {
                weightChunk(SIMD4<Float>.self, k, stride: stride, dst, plane: plane, count: n)
            }
        }
    }

    /// Gathers the 9 taps of each row of U's kernels (Cout rows, or Cin rows for `dataGradient`, whose
    /// kernels are rotated 180°) tap-major, `stride` floats apart, so a transform runs along the row, and
    /// calls `chunk(taps, stride, dst, count, wide)` for each run of 8 (or ≤ 4) kernels of the row. Rows are
    /// split over the cores once there is enough work to pay for a dispatch.
    static func eachKernelRow(_ weight: UnsafePointer<Float>, outChannels cout: Int, inChannels cin: Int, dataGradient: Bool,
                              _ u: UnsafeMutablePointer<Float>,
                              _ chunk: (UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>, Int, Bool) -> Void) {
        let rows = dataGradient ? cin : cout, cols = dataGradient ? cout : cin
        Threading.parallelRanges(rows, minChunk: max(1, 4096 / max(cols, 1))) { range in
            let stride = cols + 8
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 9 * stride) { buf in
                let k = buf.baseAddress!
                k.initialize(repeating: 0, count: 9 * stride)
                for r in range {
                    for col in 0..<cols {
                        let g = weight + (dataGradient ? col * cin + r : r * cin + col) * 9
                        for tap in 0..<9 { k[tap * stride + col] = g[dataGradient ? 8 - tap : tap] }
                    }
                    let dst = u + r * cols
                    chunks(cols) { c0, n, wide in chunk(k + c0, stride, dst + c0, n, wide) }
                }
            }
        }
    }

    @inline(__always)
    static func weightChunk<V: SIMD>(_: V.Type, _ k: UnsafePointer<Float>, stride: Int,
                                     _ dst: UnsafeMutablePointer<Float>, plane: Int, count: Int)
        where V.Scalar == Float {
        func tap(_ i: Int) -> V { load(k + i * stride, V.self) }
        let half = V(repeating: 0.5)
        // t = G g (rows of 3 taps), then U row i = (t0, ½(t0 + t1 + t2), ½(t0 − t1 + t2), t2).
        for i in 0..<4 {
            let a: V, b: V, c: V
            switch i {
            case 0: (a, b, c) = (tap(0), tap(1), tap(2))
            case 3: (a, b, c) = (tap(6), tap(7), tap(8))
            default:
                let sign: V = i == 1 ? V(repeating: 1) : V(repeating: -1)
                a = half * (tap(0) + sign * tap(3) + tap(6))
                b = half * (tap(1) + sign * tap(4) + tap(7))
                c = half * (tap(2) + sign * tap(5) + tap(8))
            }
            store(a, dst + (4 * i) * plane, count: count)
            store(half * (a + b + c), dst + (4 * i + 1) * plane, count: count)
            store(half * (a - b + c), dst + (4 * i + 2) * plane, count: count)
            store(c, dst + (4 * i + 3) * plane, count: count)
        }
    }

    /// V[ξ, c, t] = (Bᵀ d B)[ξ] for the 4×4 tile d of every tile t of `channels` of one sample x [C, H, W],
    /// with Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]. `v` points at the sample's first column;
    /// channel rows are `ld` apart, ξ planes `planeStride`.
    static func transformInput(_ x: UnsafePointer<Float>, height h: Int, width w: Int, channels: Range<Int>,
                               _ v: UnsafeMutablePointer<Float>, ld: Int, planeStride: Int) {
        let th = (h + 1) / 2, tw = (w + 1) / 2
        // Tile (ty, t) reads padded rows 2ty … 2ty + 3 (input rows − 1 … ) and input columns 2t − 1 … 2t + 2.
        // Each padded row is split into its odd input columns e[t] = x[2t − 1] and even ones o[t] = x[2t],
        // so the tile's columns d0 … d3 = e[t], o[t], e[t + 1], o[t + 1] are unit-stride vector loads.
        let rows = 2 * th + 2, stride = tw + 9  // slack for an 8-wide load at t + 1
        let evenValid = w / 2 + 1  // e[t] lies inside the image for 1 ≤ t < evenValid
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * rows * stride) { buf in
            let e = buf.baseAddress!, o = e + rows * stride
            e.initialize(repeating: 0, count: 2 * rows * stride)  // padding rows and slack stay 0
            for c in channels {
                let plane = x + c * h * w
                for r in 1..<(h + 1) {
                    let row = plane + (r - 1) * w, er = e + r * stride, or = o + r * stride
                    for t in 1..<evenValid { er[t] = row[2 * t - 1] }
                    for t in 0..<tw { or[t] = row[2 * t] }
                }
                for ty in 0..<th {
                    let er = e + 2 * ty * stride, or = o + 2 * ty * stride
                    let dst = v + c * ld + ty * tw
                    chunks(tw) { t0, n, wide in
                        if wide {
                            inputChunk(SIMD8<Float>.self, er + t0, or + t0, stride: stride, dst + t0,
                                       planeStride: planeStride, count: n)
                        } else {
                            inputChunk(SIMD4<Float>.self, er + t0, or + t0, stride: stride, dst + t0,
                                       planeStride: planeStride, count: n)
                        }
                    }
                }
            }
        }
    }

    @inline(__always)
    static func inputChunk<V: SIMD>(_: V.Type, _ e: UnsafePointer<Float>, _ o: UnsafePointer<Float>, stride: Int,
                                    _ dst: UnsafeMutablePointer<Float>, planeStride: Int, count: Int)
        where V.Scalar == Float {
        // d B for each of the tile's 4 rows, then Bᵀ across them.
        func row(_ k: Int) -> (V, V, V, V) {
            let d0 = load(e + k * stride, V.self), d1 = load(o + k * stride, V.self)
            let d2 = load(e + k * stride + 1, V.self), d3 = load(o + k * stride + 1, V.self)
            return (d0 - d2, d1 + d2, d2 - d1, d1 - d3)
        }
        let r0 = row(0), r1 = row(1), r2 = row(2), r3 = row(3)
        func put(_ i: Int, _ a: (V, V, V, V)) {
            let p = dst + 4 * i * planeStride
            store(a.0, p, count: count)
            store(a.1, p + planeStride, count: count)
            store(a.2, p + 2 * planeStride, count: count)
            store(a.3, p + 3 * planeStride, count: count)
        }
        put(0, (r0.0 - r2.0, r0.1 - r2.1, r0.2 - r2.2, r0.3 - r2.3))
        put(1, (r1.0 + r2.0, r1.1 + r2.1, r1.2 + r2.2, r1.3 + r2.3))
        put(2, (r2.0 - r1.0, r2.1 - r1.1, r2.2 - r1.2, r2.3 - r1.3))
        put(3, (r1.0 - r3.0, r1.1 - r3.1, r1.2 - r3.2, r1.3 - r3.3))
    }

    /// out[o] = Aᵀ M A + bias[o] for `channels` of one sample out [Cout, H, W], with Aᵀ = [1 1 1 0; 0 1 −1 −1].
    /// `m` points at the sample's first column; channel rows are `ld` apart, ξ planes `planeStride`.
    static func transformOutput(_ m: UnsafePointer<Float>, ld: Int, planeStride: Int, height h: Int, width w: Int,
                                channels: Range<Int>, bias: UnsafePointer<Float>?, _ out: UnsafeMutablePointer<Float>) {
        let th = (h + 1) / 2, tw = (w + 1) / 2, pairs = w / 2
        // Even and odd output columns of the tile row's two output rows, interleaved into `out` afterwards
        // (a stride-2 store loop LLVM vectorises).
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 4 * (tw + 8)) { buf in
            let y = buf.baseAddress!, ys = tw + 8
            for oc in channels {
                let bv = bias?[oc] ?? 0
                let plane = out + oc * h * w
                for ty in 0..<th {
                    let src = m + oc * ld + ty * tw
                    chunks(tw) { t0, n, wide in
                        if wide {
                            outputChunk(SIMD8<Float>.self, src + t0, planeStride: planeStride, bias: bv, y + t0, ys,
                                        count: n)
                        } else {
                            outputChunk(SIMD4<Float>.self, src + t0, planeStride: planeStride, bias: bv, y + t0, ys,
                                        count: n)
                        }
                    }
                    for a in 0..<2 where 2 * ty + a < h {
                        let ye = y + 2 * a * ys, yo = ye + ys
                        let dst = plane + (2 * ty + a) * w
                        for t in 0..<pairs {
                            dst[2 * t] = ye[t]
                            dst[2 * t + 1] = yo[t]
                        }
                        if w & 1 == 1 { dst[w - 1] = ye[tw - 1] }
                    }
                }
            }
        }
    }

    /// Writes y[0] (even columns, row 0), y[ys] (odd, row 0), y[2ys], y[3ys] (row 1) for a chunk of tiles.
    @inline(__always)
    static func outputChunk<V: SIMD>(_: V.Type, _ m: UnsafePointer<Float>, planeStride: Int, bias: Float,
                                     _ y: UnsafeMutablePointer<Float>, _ ys: Int, count: Int)
        where V.Scalar == Float {
        func at(_ xi: Int) -> V { load(m + xi * planeStride, V.self) }
        // Aᵀ across the tile's rows: s0 = m0 + m1 + m2, s1 = m1 − m2 − m3, per column j.
        func column(_ j: Int) -> (V, V) {
            let m0 = at(j), m1 = at(4 + j), m2 = at(8 + j), m3 = at(12 + j)
            return (m0 + m1 + m2, m1 - m2 - m3)
        }
        let c0 = column(0), c1 = column(1), c2 = column(2), c3 = column(3)
        let b = V(repeating: bias)
        store(c0.0 + c1.0 + c2.0 + b, y, count: count)
        store(c1.0 - c2.0 - c3.0 + b, y + ys, count: count)
        store(c0.1 + c1.1 + c2.1 + b, y + 2 * ys, count: count)
        store(c1.1 - c2.1 - c3.1 + b, y + 3 * ys, count: count)
    }

    /// How `run` and `backwardWeight` cut the batch: groups of `plan.winogradGroup` samples whose tiles sit
    /// side by side (scheduled like im2col groups, hence `plan` with that group size), and each worker's V
    /// [16][Cin][columns] and M [16][Cout][columns] planes for one group.
    struct GroupBuffers {
        let plan: ConvolutionPlan
        let tiles, groupSize, workers, vPlane, mPlane: Int
        let v, m: [ConvolutionKernels.Workspace]

        /// `tiling`'s tiles per sample, ξ planes and samples per GEMM.
        init(_ s: Conv2dShape, _ given: ConvolutionPlan, tiling: Tiling) {
            let grouped = tiling.groupPlan(s, given)
            plan = ConvolutionPlan(group: grouped.winogradGroup, perCore: grouped.perCore)
            tiles = tiling.tiles(s)
            groupSize = min(plan.group, s.batch)
            workers = ConvolutionKernels.workers(s, plan)
            vPlane = planeSize(s.inChannels * groupSize * tiles)
            mPlane = planeSize(s.outChannels * groupSize * tiles)
            let (vp, mp, positions) = (vPlane, mPlane, tiling.positions)
            v = (0..<workers).map { _ in ConvolutionKernels.Workspace(positions * vp) }
            m = (0..<workers).map { _ in ConvolutionKernels.Workspace(positions * mp) }
        }
    }

    // MARK: Convolution

    /// out [N, Cout, H, W] = conv(x [N, Cin, H, W], weight [Cout, Cin, 3, 3], stride 1, padding 1) + bias.
    /// The tiles of `plan.winogradGroup` samples share each GEMM; groups are scheduled by
    /// `ConvolutionKernels.schedule` (statically: reproducible results).
    public static func forward(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                               _ out: UnsafeMutablePointer<Float>, shape s: Conv2dShape, plan: ConvolutionPlan? = nil) {
        precondition(supports(s), "Winograd needs a 3×3 kernel, stride 1, padding 1: \(s)")
        guard s.batch > 0, s.outChannels > 0, s.outPlane > 0 else { return }
        let plan = plan ?? .automatic(for: s)
        run(x, weight: weight, dataGradient: false, bias: bias, out, shape: s, plan: plan, tiling: .of(plan.winogradTile))
    }

    /// dx [N, Cin, H, W] (overwritten) of `forward` given dout [N, Cout, H, W]. For stride 1 and padding 1,
    /// dx = conv(dout, weight rotated 180° with in/out channels swapped), stride 1, padding 1: the forward
    /// kernel serves it.
    public static func backwardData(_ dout: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                    _ dx: UnsafeMutablePointer<Float>, shape s: Conv2dShape,
                                    plan: ConvolutionPlan? = nil) {
        precondition(supports(s), "Winograd needs a 3×3 kernel, stride 1, padding 1: \(s)")
        guard s.batch > 0, s.inChannels > 0, s.inPlane > 0 else { return }
        let t = Conv2dShape(batch: s.batch, inChannels: s.outChannels, outChannels: s.inChannels, height: s.height,
                            width: s.width, kernelHeight: 3, kernelWidth: 3, stride: 1, padding: 1)
        let plan = plan ?? .automatic(for: s)
        run(dout, weight: weight, dataGradient: true, bias: nil, dx, shape: t, plan: plan, tiling: .of(plan.winogradTile))
    }

    /// dWeight [Cout, Cin, 3, 3] (overwritten) of `forward` given x [N, Cin, H, W] and dout [N, Cout, H, W].
    /// Per tile t, Y_t = Aᵀ (U ⊙ V_t) A, so dU[ξ] = Σ_t (A dY_t Aᵀ)[ξ] · V_t[ξ]: per ξ one GEMM
    /// dU[ξ] += Mg[ξ] [Cout × columns] · V[ξ]ᵀ [columns × Cin] over each group's tiles, then
    /// dW = Gᵀ dU G. Groups run on `ConvolutionKernels.schedule`'s static workers, each accumulating its
    /// own dU; the partials are summed in worker order, so results are reproducible for a core count.
    public static func backwardWeight(_ x: UnsafePointer<Float>, _ dout: UnsafePointer<Float>,
                                      _ dWeight: UnsafeMutablePointer<Float>, shape s: Conv2dShape,
                                      plan: ConvolutionPlan? = nil) {
        precondition(supports(s), "Winograd needs a 3×3 kernel, stride 1, padding 1: \(s)")
        let cin = s.inChannels, cout = s.outChannels
        guard cin > 0, cout > 0 else { return }
        guard s.batch > 0, s.inPlane > 0 else {
            dWeight.initialize(repeating: 0, count: cout * cin * 9)
            return
        }
        let plan = plan ?? .automatic(for: s)
        let tiling = Tiling.of(plan.weightGradientTile)
        let inSize = cin * s.inPlane, outSize = cout * s.outPlane, uPlane = planeSize(cout * cin), positions = tiling.positions
        let b = GroupBuffers(s, plan, tiling: tiling)
        let T = b.tiles, G = b.groupSize, vPlane = b.vPlane, mPlane = b.mPlane
        let dus = (0..<b.workers).map { _ in ConvolutionKernels.Workspace(positions * uPlane) }
        var started = [Bool](repeating: false, count: b.workers)
        started.withUnsafeMutableBufferPointer { startedBuf in
            let startedPtr = startedBuf.baseAddress!
            ConvolutionKernels.schedule(s, b.plan) { gi, w, inside in
                let n0 = gi * G, gn = min(G, s.batch - n0), width = gn * T
                let v = b.v[w].pointer, m = b.m[w].pointer, du = dus[w].pointer
                ConvolutionKernels.eachSample(gn, channels: cin, parallel: inside) { k, ch in
                    tiling.transformInput(x + (n0 + k) * inSize, s.height, s.width, ch, v + k * T, width, vPlane)
                }
                ConvolutionKernels.eachSample(gn, channels: cout, parallel: inside) { k, ch in
                    tiling.transformOutputGradient(dout + (n0 + k) * outSize, s.height, s.width, ch, m + k * T, width, mPlane)
                }
                let beta: Float = startedPtr[w] ? 1 : 0
                for xi in 0..<positions {
                    ConvolutionKernels.gemm(inside, transB: true, m: cout, n: cin, k: width, a: m + xi * mPlane,
                                            lda: width, b: v + xi * vPlane, ldb: width, beta: beta,
                                            c: du + xi * uPlane, ldc: cin)
                }
                startedPtr[w] = true
            }
        }
        // Σ of the partials in worker order (into worker 0's), then dW = Gᵀ dU G.
        let du = dus[0].pointer
        for w in 1..<b.workers where started[w] {
            let p = dus[w].pointer
            for xi in 0..<positions {
                let dst = du + xi * uPlane, src = p + xi * uPlane
                for i in 0..<(cout * cin) { dst[i] += src[i] }
            }
        }
        tiling.transformWeightGradient(du, uPlane, cout * cin, dWeight)
        withExtendedLifetime(dus) {}  // `du` points into dus[0]: keep it alive up to here
    }

    /// Mg[ξ, o, t] = (A dY A^T)[ξ] for the 2×2 output-gradient tile dY of every tile t of `channels` of one
    /// sample dout [C, H, W] (zeros past the image), with A = [1 0; 1 1; 1 −1; 0 −1]. `m` points at the
    /// sample's first column; channel rows are `ld` apart, ξ planes `planeStride`.
    static func transformOutputGradient(_ dout: UnsafePointer<Float>, height h: Int, width w: Int, channels: Range<Int>,
                                        _ m: UnsafeMutablePointer<Float>, ld: Int, planeStride: Int) {
        let th = (h + 1) / 2, tw = (w + 1) / 2, pairs = w / 2
        // The tile row's two output rows split into even and odd columns: y00, y01 (row 0), y10, y11 (row 1).
        let ys = tw + 8
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 4 * ys) { buf in
            let y = buf.baseAddress!
            y.initialize(repeating: 0, count: 4 * ys)  // the odd column of an odd width and the slack stay 0
            for c in channels {
                let plane = dout + c * h * w
                for ty in 0..<th {
                    for a in 0..<2 {
                        let ye = y + 2 * a * ys, yo = ye + ys
                        if 2 * ty + a < h {
                            let src = plane + (2 * ty + a) * w
                            for t in 0..<pairs {
                                ye[t] = src[2 * t]
                                yo[t] = src[2 * t + 1]
                            }
                            if w & 1 == 1 { ye[tw - 1] = src[w - 1] }
                        } else {
                            ye.initialize(repeating: 0, count: tw)
                            yo.initialize(repeating: 0, count: tw)
                        }
                    }
                    let dst = m + c * ld + ty * tw
                    chunks(tw) { t0, n, wide in
                        if wide {
                            outputGradientChunk(SIMD8<Float>.self, y + t0, ys, dst + t0, planeStride: planeStride,
                                                count: n)
                        } else {
                            outputGradientChunk(SIMD4<Float>.self, y + t0, ys, dst + t0, planeStride: planeStride,
                                                count: n)
                        }
                    }
                }
            }
        }
    }

    @inline(__always)
    static func outputGradientChunk<V: SIMD>(_: V.Type, _ y: UnsafePointer<Float>, _ ys: Int,
                                             _ dst: UnsafeMutablePointer<Float>, planeStride: Int, count: Int)
        where V.Scalar == Float {
        let y00 = load(y, V.self), y01 = load(y + ys, V.self)
        let y10 = load(y + 2 * ys, V.self), y11 = load(y + 3 * ys, V.self)
        // A dY: rows (y00, y01), (y00 + y10, y01 + y11), (y00 − y10, y01 − y11), (−y10, −y11);
        // then each row (a, b) times Aᵀ: (a, a + b, a − b, −b).
        func put(_ i: Int, _ a: V, _ b: V) {
            let p = dst + 4 * i * planeStride
            store(a, p, count: count)
            store(a + b, p + planeStride, count: count)
            store(a - b, p + 2 * planeStride, count: count)
            store(-b, p + 3 * planeStride, count: count)
        }
        put(0, y00, y01)
        put(1, y00 + y10, y01 + y11)
        put(2, y00 - y10, y01 - y11)
        put(3, -y10, -y11)
    }

    /// dW[k] = Gᵀ dU[·, k] G (4×4 → 3×3) for the `count` kernels k of du [16][count] (ξ planes `plane` apart),
    /// written as [count, 3, 3].
    static func transformWeightGradient(_ du: UnsafePointer<Float>, plane: Int, count: Int,
                                        _ dw: UnsafeMutablePointer<Float>) {
        Threading.parallelRanges(count, minChunk: 4096) { range in
            for k in range {
                func at(_ i: Int, _ j: Int) -> Float { du[(4 * i + j) * plane + k] }
                // Gᵀ = [1 ½ ½ 0; 0 ½ −½ 0; 0 ½ ½ 1] on the rows, then the same on the columns.
                let g = dw + k * 9
                func row(_ i: Int) -> (Float, Float, Float, Float) {
                    func r(_ j: Int) -> Float {
                        let d0 = at(0, j), d1 = at(1, j), d2 = at(2, j), d3 = at(3, j)
                        switch i {
                        case 0: return d0 + 0.5 * (d1 + d2)
                        case 1: return 0.5 * (d1 - d2)
                        default: return 0.5 * (d1 + d2) + d3
                        }
                    }
                    return (r(0), r(1), r(2), r(3))
                }
                for i in 0..<3 {
                    let a = row(i)
                    g[3 * i] = a.0 + 0.5 * (a.1 + a.2)
                    g[3 * i + 1] = 0.5 * (a.1 - a.2)
                    g[3 * i + 2] = 0.5 * (a.1 + a.2) + a.3
                }
            }
        }
    }

    /// The convolution of `weight` (transformed here; `dataGradient` as in `transformWeights`) with `tiling`'s
    /// transforms: per group, input transform, one GEMM per ξ position, output transform, all in one
    /// worker's buffers (so a group's V and M stay in that core's caches).
    static func run(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, dataGradient: Bool, bias: UnsafePointer<Float>?,
                    _ out: UnsafeMutablePointer<Float>, shape s: Conv2dShape, plan: ConvolutionPlan, tiling: Tiling) {
        let cin = s.inChannels, cout = s.outChannels
        let inSize = cin * s.inPlane, outSize = cout * s.outPlane, uPlane = planeSize(cout * cin)
        let u = ConvolutionKernels.Workspace(tiling.positions * uPlane)
        // `s` is the convolution that runs (for dx its channels are the forward's, swapped).
        tiling.transformWeights(weight, dataGradient ? cin : cout, dataGradient ? cout : cin, dataGradient, u.pointer)
        let b = GroupBuffers(s, plan, tiling: tiling)
        let T = b.tiles, G = b.groupSize, vPlane = b.vPlane, mPlane = b.mPlane
        let up = u.pointer
        ConvolutionKernels.schedule(s, b.plan) { gi, w, inside in
            let n0 = gi * G, gn = min(G, s.batch - n0), width = gn * T
            let v = b.v[w].pointer, m = b.m[w].pointer
            ConvolutionKernels.eachSample(gn, channels: cin, parallel: inside) { k, ch in
                tiling.transformInput(x + (n0 + k) * inSize, s.height, s.width, ch, v + k * T, width, vPlane)
            }
            for xi in 0..<tiling.positions {
                ConvolutionKernels.gemm(inside, m: cout, n: width, k: cin, a: up + xi * uPlane, lda: cin,
                                        b: v + xi * vPlane, ldb: width, c: m + xi * mPlane, ldc: width)
            }
            ConvolutionKernels.eachSample(gn, channels: cout, parallel: inside) { k, ch in
                tiling.transformOutput(m + k * T, width, mPlane, s.height, s.width, ch, bias, out + (n0 + k) * outSize)
            }
        }
        withExtendedLifetime(u) {}
    }

    /// One Winograd variant: its tile count, ξ positions, transforms and samples per GEMM.
    struct Tiling: Sendable {
        let positions: Int
        let tiles: @Sendable (Conv2dShape) -> Int
        let groupPlan: @Sendable (Conv2dShape, ConvolutionPlan) -> ConvolutionPlan
        /// (weight, Cout and Cin of the forward convolution, dataGradient, u)
        let transformWeights: @Sendable (UnsafePointer<Float>, Int, Int, Bool, UnsafeMutablePointer<Float>) -> Void
        /// (x, height, width, channels, v, ld, planeStride)
        let transformInput: @Sendable (UnsafePointer<Float>, Int, Int, Range<Int>, UnsafeMutablePointer<Float>, Int, Int) -> Void
        /// (m, ld, planeStride, height, width, channels, bias, out)
        let transformOutput: @Sendable (UnsafePointer<Float>, Int, Int, Int, Int, Range<Int>, UnsafePointer<Float>?,
                                        UnsafeMutablePointer<Float>) -> Void
        /// (dout, height, width, channels, m, ld, planeStride)
        let transformOutputGradient: @Sendable (UnsafePointer<Float>, Int, Int, Range<Int>, UnsafeMutablePointer<Float>, Int, Int) -> Void
        /// (du, plane, count, dw)
        let transformWeightGradient: @Sendable (UnsafePointer<Float>, Int, Int, UnsafeMutablePointer<Float>) -> Void

        static func of(_ tile: Int) -> Tiling { tile == 4 ? f4 : f2 }

        static let f2 = Tiling(
            positions: 16, tiles: WinogradKernels.tiles, groupPlan: { _, plan in plan },
            transformWeights: { w, cout, cin, dg, u in
                WinogradKernels.transformWeights(w, outChannels: cout, inChannels: cin, dataGradient: dg, u)
            },
            transformInput: { x, h, w, ch, v, ld, ps in WinogradKernels.transformInput(x, height: h, width: w, channels: ch, v, ld: ld, planeStride: ps) },
            transformOutput: { m, ld, ps, h, w, ch, bias, out in
                WinogradKernels.transformOutput(m, ld: ld, planeStride: ps, height: h, width: w, channels: ch, bias: bias, out)
            },
            transformOutputGradient: { y, h, w, ch, m, ld, ps in
                WinogradKernels.transformOutputGradient(y, height: h, width: w, channels: ch, m, ld: ld, planeStride: ps)
            },
            transformWeightGradient: { du, plane, count, dw in WinogradKernels.transformWeightGradient(du, plane: plane, count: count, dw) })

        static let f4 = Tiling(
            positions: WinogradKernels.positions4, tiles: WinogradKernels.tiles4, groupPlan: WinogradKernels.groupPlan4,
            transformWeights: { w, cout, cin, dg, u in
                WinogradKernels.transformWeights4(w, outChannels: cout, inChannels: cin, dataGradient: dg, u)
            },
            transformInput: { x, h, w, ch, v, ld, ps in WinogradKernels.transformInput4(x, height: h, width: w, channels: ch, v, ld: ld, planeStride: ps) },
            transformOutput: { m, ld, ps, h, w, ch, bias, out in
                WinogradKernels.transformOutput4(m, ld: ld, planeStride: ps, height: h, width: w, channels: ch, bias: bias, out)
            },
            transformOutputGradient: { y, h, w, ch, m, ld, ps in
                WinogradKernels.transformOutputGradient4(y, height: h, width: w, channels: ch, m, ld: ld, planeStride: ps)
            },
            transformWeightGradient: { du, plane, count, dw in WinogradKernels.transformWeightGradient4(du, plane: plane, count: count, dw) })
    }
}
