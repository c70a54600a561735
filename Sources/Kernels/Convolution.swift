import Foundation

/// The sizes of a 2-D convolution over an NCHW batch (square stride and padding, as the U-Net uses).
public struct Conv2dShape: Sendable, Equatable, CustomStringConvertible {
    public let batch, inChannels, outChannels, height, width, kernelHeight, kernelWidth, stride, padding: Int

    public init(batch: Int, inChannels: Int, outChannels: Int, height: Int, width: Int,
                kernelHeight: Int, kernelWidth: Int, stride: Int = 1, padding: Int = 0) {
        self.batch = batch; self.inChannels = inChannels; self.outChannels = outChannels
        self.height = height; self.width = width
        self.kernelHeight = kernelHeight; self.kernelWidth = kernelWidth
        self.stride = stride; self.padding = padding
    }

    public var outHeight: Int { (height + 2 * padding - kernelHeight) / stride + 1 }
    public var outWidth: Int { (width + 2 * padding - kernelWidth) / stride + 1 }
    public var inPlane: Int { height * width }
    public var outPlane: Int { outHeight * outWidth }
    /// Rows of the im2col matrix: one per (input channel, kernel row, kernel column).
    public var patch: Int { inChannels * kernelHeight * kernelWidth }
    /// 1×1, stride 1, no padding: each sample's input already is its im2col matrix.
    public var isPointwise: Bool { kernelHeight == 1 && kernelWidth == 1 && stride == 1 && padding == 0 }
    /// Multiply-adds × 2 of the forward pass (the backward costs twice that: dX and dW).
    public var forwardFlops: Double { 2 * Double(batch * outChannels * outPlane) * Double(patch) }

    public var description: String {
        "\(batch)×\(inChannels)×\(height)×\(width) → \(outChannels), \(kernelHeight)×\(kernelWidth) s\(stride) p\(padding)"
    }
}

/// How a convolution's GEMMs are cut up. im2col columns of `group` samples sit side by side so one
/// GEMM covers them (wider GEMMs, fewer calls); groups then run either one per core with
/// single-threaded BLAS (`perCore`) or one after another, each GEMM split over the cores.
/// `winograd` computes the forward and dx of 3×3, stride-1, padding-1 convolutions by Winograd
/// F(2×2, 3×3) or, with `winogradTile` 4, F(4×4, 3×3) instead (`WinogradKernels`: the tiles of
/// `winogradGroup` samples share each GEMM, same scheduling), and their dWeight too, with
/// `weightGradientTile` (`WinogradKernels.backwardWeight`). Other shapes ignore these fields.
public struct ConvolutionPlan: Sendable, Equatable, CustomStringConvertible {
    public var group: Int
    public var perCore: Bool
    public var winograd: Bool
    public var winogradGroup: Int
    /// Output tile of the Winograd forward pass and dx: 2 (F(2×2, 3×3)) or 4 (F(4×4, 3×3)).
    public var winogradTile: Int
    /// Output tile of the Winograd dWeight: 2 or 4.
    public var weightGradientTile: Int

    public init(group: Int, perCore: Bool, winograd: Bool = false, winogradGroup: Int = 1, winogradTile: Int = 2,
                weightGradientTile: Int = 2) {
        self.group = max(1, group)
        self.perCore = perCore
        self.winograd = winograd
        self.winogradGroup = max(1, winogradGroup)
        self.winogradTile = winogradTile == 4 ? 4 : 2
        self.weightGradientTile = weightGradientTile == 4 ? 4 : 2
    }

    /// The measured choice (`t2ialign bench kernels --sweep --cpu-time`, T2I_THREADS=1): one GEMM per
    /// sample, samples spread over the cores. Putting 2–16 samples in one wider GEMM was slower or equal
    /// at every U-Net size (32×32 down to 8×8 maps, 32–192 channels): OpenBLAS is already efficient at
    /// 64+ columns, and the gather/scatter copies cost 5–30 %. A 1×1 stride-1 convolution then runs
    /// directly on the input, with no im2col copy at all.
    ///
    /// Winograd (`t2ialign bench kernels`, its im2col/Winograd table, 1 and 2 threads, batch 16): 1.3–2.1×
    /// faster forward and dx at every U-Net 3×3 stride-1 shape (32–192 input channels, 32×32 to 8×8 maps)
    /// and for 32 → 4 (16 → 16: forward 1.2×, dx 1.4–1.6×); 1.5–2.3× slower for 4 → 32 (a GEMM with K = 4
    /// gains nothing, the 4× larger transformed input costs), hence the channel floor. Under 8×8 the edge
    /// tiles waste a growing share and nothing was measured. Samples per Winograd GEMM: 8×8 maps (16 tiles)
    /// ran 1.15–1.2× faster with 2–8 samples than with 1, 16×16 and 32×32 maps fastest with 1; so ≥ 64
    /// columns with the smallest buffers that reach it (V and M grow with the group), and no fewer groups
    /// than cores. dWeight by Winograd (batch 16, 32→32 at 32×32 to 128→128 at 8×8): 1.6–1.9× faster than
    /// im2col at 1 and 2 threads with these same groups (larger groups were slower at 32×32).
    ///
    /// F(4×4, 3×3) tiles for the forward pass and dx (`t2ialign bench kernels`, 2 threads, batch 16,
    /// 2026-12-07): 1.15–1.35× faster than F(2×2) where both channel counts are ≥ 32 on 16×16 and 32×32
    /// maps; slower for 16 → 16 and 32 → 4 (GEMMs too thin for the larger transforms), where F(2×2) stays.
    /// At 8×8 (128 → 128) forward 1.07× faster and dx 1.14× slower, but whole tiny/small SFT steps and
    /// DDIM ran 1.4–3% faster with F(4×4) there too (paired `bench model` runs). dWeight by F(4×4):
    /// 1.12–1.17× faster than F(2×2) on 32×32 maps, equal at 16×16, 1.3× slower at 8×8 (its GEMMs sum
    /// over 4 tiles a sample), so only from 32×32 up.
    public static func automatic(for shape: Conv2dShape) -> ConvolutionPlan {
        let tiles = ((shape.height + 1) / 2) * ((shape.width + 1) / 2)
        let winograd = winogradOverride.map { $0 != 0 }
            ?? (shape.inChannels >= 16 && min(shape.height, shape.width) >= 8)
        let winogradGroup = max(1, min(64 / max(tiles, 1), shape.batch / Threading.cores))
        let wide = min(shape.inChannels, shape.outChannels) >= 32
        let forced = winogradOverride == 2 || winogradOverride == 4 ? winogradOverride : nil
        return ConvolutionPlan(group: 1, perCore: true, winograd: winograd && WinogradKernels.supports(shape),
                               winogradGroup: winogradGroup, winogradTile: forced ?? (wide ? 4 : 2),
                               weightGradientTile: forced ?? (wide && min(shape.height, shape.width) >= 32 ? 4 : 2))
    }

    /// T2I_WINOGRAD in every automatic plan, so whole-model tests and benchmarks can run each path without
    /// code changes: 0 im2col, 1 Winograd wherever it applies, 2 or 4 Winograd with that output tile for the
    /// forward pass and dx; unset, `automatic` decides by shape.
    public static let winogradOverride: Int? = {
        switch ProcessInfo.processInfo.environment["T2I_WINOGRAD"] {
        case "0": 0
        case "1": 1
        case "2": 2
        case "4": 4
        default: nil
        }
    }()

    public var description: String {
        "group \(group), \(perCore ? "per core" : "split GEMMs")"
            + (winograd ? ", Winograd F(\(winogradTile)×\(winogradTile)) \(winogradGroup) per GEMM, dW F(\(weightGradientTile)×\(weightGradientTile))" : "")
    }
}

/// conv2d forward and backward by im2col + `BLAS.sgemm` (weights [Cout, Cin, kh, kw], torch layout).
public enum ConvolutionKernels {
    // MARK: im2col / col2im

    /// The output columns [lo, hi) whose input column ow·stride + j − padding falls inside the image.
    @inline(__always)
    static func validColumns(_ s: Conv2dShape, kernelColumn j: Int) -> (Int, Int) {
        let lo = s.padding - j > 0 ? (s.padding - j + s.stride - 1) / s.stride : 0
        let last = s.width - 1 - j + s.padding
        let hi = last >= 0 ? min(s.outWidth, last / s.stride + 1) : 0
        return (min(lo, s.outWidth), max(hi, min(lo, s.outWidth)))
    }

    /// Writes the im2col rows of `channels` for one sample: col[(c·kh + i)·kw + j, oh·Wo + ow] =
    /// x[c, oh·s + i − p, ow·s + j − p] (0 outside the image); `ld` is the row stride of `col`.
    /// (Splitting rows into stride phases, or SIMD `evenHalf` gathers, measured slower for stride 2 at
    /// U-Net sizes than these plain loops: the rows are only 8–16 outputs long.)
    public static func im2col(_ x: UnsafePointer<Float>, _ s: Conv2dShape, channels: Range<Int>,
                              _ col: UnsafeMutablePointer<Float>, ld: Int) {
        let wo = s.outWidth, ho = s.outHeight
        for c in channels {
            let plane = x + c * s.inPlane
            for i in 0..<s.kernelHeight {
                for j in 0..<s.kernelWidth {
                    let row = col + ((c * s.kernelHeight + i) * s.kernelWidth + j) * ld
                    let (lo, hi) = validColumns(s, kernelColumn: j)
                    for oh in 0..<ho {
                        let dst = row + oh * wo
                        let ih = oh * s.stride + i - s.padding
                        if ih < 0 || ih >= s.height {
                            dst.initialize(repeating: 0, count: wo)
                            continue
                        }
                        let src = plane + ih * s.width + j - s.padding
                        for ow in 0..<lo { dst[ow] = 0 }
                        if s.stride == 1 {
                            (dst + lo).update(from: src + lo, count: hi - lo)
                        } else {
                            for ow in lo..<hi { dst[ow] = src[ow * s.stride] }
                        }
                        for ow in hi..<wo { dst[ow] = 0 }
                    }
                }
            }
        }
    }

    /// The adjoint of `im2col` for `channels` of one sample: dx[c] = Σ of the col entries copied from it.
    /// Overwrites those channels of `dx`.
    public static func col2im(_ col: UnsafePointer<Float>, ld: Int, _ s: Conv2dShape, channels: Range<Int>,
                              _ dx: UnsafeMutablePointer<Float>) {
        let wo = s.outWidth, ho = s.outHeight
        for c in channels {
            let plane = dx + c * s.inPlane
            plane.initialize(repeating: 0, count: s.inPlane)
            for i in 0..<s.kernelHeight {
                for j in 0..<s.kernelWidth {
                    let row = col + ((c * s.kernelHeight + i) * s.kernelWidth + j) * ld
                    let (lo, hi) = validColumns(s, kernelColumn: j)
                    for oh in 0..<ho {
                        let ih = oh * s.stride + i - s.padding
                        if ih < 0 || ih >= s.height { continue }
                        let src = row + oh * wo
                        let dst = plane + ih * s.width + j - s.padding
                        if s.stride == 1 {
                            for ow in lo..<hi { dst[ow] += src[ow] }
                        } else {
                            for ow in lo..<hi { dst[ow * s.stride] += src[ow] }
                        }
                    }
                }
            }
        }
    }

    // MARK: Scheduling

    /// Scratch for one worker; freed at the end of the call.
    final class Workspace {
        let pointer: UnsafeMutablePointer<Float>
        let count: Int
        init(_ count: Int) {
            self.count = count
            pointer = BufferPool.allocate(count)
        }
        deinit { BufferPool.release(pointer, count) }
    }

    /// Runs `body(groupIndex, worker, parallelInside)` for every group of `plan.group` samples: on one
    /// worker per core with BLAS at one thread, or in order with each GEMM split over the cores (then
    /// the copies inside a group use the cores too: `parallelInside`). Groups are dealt to workers
    /// statically, not claimed dynamically, so each worker's partial weight gradient sums the same
    /// samples in the same order on every run: results are reproducible for a given core count.
    static func schedule(_ s: Conv2dShape, _ plan: ConvolutionPlan, _ body: (Int, Int, Bool) -> Void) {
        let groups = (s.batch + plan.group - 1) / plan.group
        let nw = workers(s, plan)
        guard nw > 1 else {
            for gi in 0..<groups { body(gi, 0, true) }
            return
        }
        Threading.parallelBatch(nw) { w in
            for gi in (groups * w / nw)..<(groups * (w + 1) / nw) { body(gi, w, false) }
        }
    }

    /// How many workers `schedule` uses (each gets its own scratch buffers).
    static func workers(_ s: Conv2dShape, _ plan: ConvolutionPlan) -> Int {
        let groups = (s.batch + plan.group - 1) / plan.group
        return plan.perCore && groups > 1 ? min(Threading.cores, groups) : 1
    }

    /// Runs `body(sample, channelRange)` over the samples of a group, split across cores when asked.
    static func eachSample(_ count: Int, channels: Int, parallel: Bool, _ body: (Int, Range<Int>) -> Void) {
        if !parallel || count * channels < 2 {
            for k in 0..<count { body(k, 0..<channels) }
            return
        }
        Threading.parallelRanges(count * channels, minChunk: 1) { r in
            var u = r.lowerBound
            while u < r.upperBound {
                let k = u / channels, c0 = u % channels
                let c1 = min(channels, c0 + (r.upperBound - u))
                body(k, c0..<c1)
                u += c1 - c0
            }
        }
    }

    /// A GEMM of one group: single-threaded BLAS inside a per-core worker; split over the cores by
    /// `MatrixMultiplyKernels.gemm` when the group runs alone (`parallel`), never with OpenBLAS threads.
    @inline(__always)
    static func gemm(_ parallel: Bool, transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                     a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                     beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if parallel {
            MatrixMultiplyKernels.gemm(transA: transA, transB: transB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb,
                                       beta: beta, c: c, ldc: ldc)
        } else {
            BLAS.sgemm(transA: transA, transB: transB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb,
                       beta: beta, c: c, ldc: ldc)
        }
    }

    // MARK: Forward

    /// out [N, Cout, Ho, Wo] = conv(x [N, Cin, H, W], weight [Cout, Cin, kh, kw]) + bias [Cout].
    public static func forward(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                               _ out: UnsafeMutablePointer<Float>, shape s: Conv2dShape,
                               plan: ConvolutionPlan? = nil) {
        guard s.batch > 0, s.outPlane > 0, s.outChannels > 0 else { return }
        let plan = plan ?? .automatic(for: s)
        if plan.winograd && WinogradKernels.supports(s) {
            WinogradKernels.forward(x, weight: weight, bias: bias, out, shape: s, plan: plan)
            return
        }
        let P = s.outPlane, K = s.patch, cout = s.outChannels, inSize = s.inChannels * s.inPlane
        let G = min(plan.group, s.batch)
        let direct = s.isPointwise && G == 1
        let nw = workers(s, plan)
        let cols = (0..<nw).map { _ in Workspace(direct ? 0 : K * G * P) }
        let outs = (0..<nw).map { _ in Workspace(G == 1 ? 0 : cout * G * P) }
        schedule(s, plan) { gi, w, inside in
            let n0 = gi * G, gn = min(G, s.batch - n0), width = gn * P
            let b: UnsafePointer<Float>
            if direct {
                b = x + n0 * inSize
            } else {
                let col = cols[w].pointer
                eachSample(gn, channels: s.inChannels, parallel: inside) { k, ch in
                    im2col(x + (n0 + k) * inSize, s, channels: ch, col + k * P, ld: width)
                }
                b = UnsafePointer(col)
            }
            let c = gn == 1 ? out + n0 * cout * P : outs[w].pointer
            if gn == 1, let bias {
                for o in 0..<cout { (c + o * P).initialize(repeating: bias[o], count: P) }
            }
            gemm(inside, m: cout, n: width, k: K, a: weight, lda: K, b: b, ldb: width,
                       beta: gn == 1 && bias != nil ? 1 : 0, c: c, ldc: width)
            if gn > 1 {
                // [Cout, gn·P] → gn samples of [Cout, P], adding the bias on the way.
                eachSample(gn, channels: cout, parallel: inside) { k, ch in
                    for o in ch {
                        let src = c + o * width + k * P, dst = out + ((n0 + k) * cout + o) * P
                        let bv = bias?[o] ?? 0
                        for p in 0..<P { dst[p] = src[p] + bv }
                    }
                }
            }
        }
    }

    // MARK: Backward

    /// Gradients of `forward` given dout [N, Cout, Ho, Wo]: dx [N, Cin, H, W], dWeight [Cout, Cin, kh, kw],
    /// dBias [Cout] (each overwritten; pass nil for those not needed).
    public static func backward(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, _ dout: UnsafePointer<Float>,
                                dx: UnsafeMutablePointer<Float>?, dWeight: UnsafeMutablePointer<Float>?,
                                dBias: UnsafeMutablePointer<Float>?, shape s: Conv2dShape,
                                plan: ConvolutionPlan? = nil) {
        let K = s.patch, cout = s.outChannels
        let plan = plan ?? .automatic(for: s)
        if plan.winograd, WinogradKernels.supports(s), s.batch > 0, cout > 0 {
            // dWeight and dx by Winograd, dBias by a channel sum.
            if let dBias { ReductionKernels.sumChannels(dout, batch: s.batch, channels: cout, plane: s.outPlane, dBias) }
            if let dWeight { WinogradKernels.backwardWeight(x, dout, dWeight, shape: s, plan: plan) }
            if let dx { WinogradKernels.backwardData(dout, weight: weight, dx, shape: s, plan: plan) }
            return
        }
        if let dBias { ReductionKernels.sumChannels(dout, batch: s.batch, channels: cout, plane: s.outPlane, dBias) }
        if let dWeight, s.batch == 0 || s.outPlane == 0 { dWeight.initialize(repeating: 0, count: cout * K) }
        if let dx, s.outPlane == 0 || cout == 0 { dx.initialize(repeating: 0, count: s.batch * s.inChannels * s.inPlane) }
        guard dx != nil || dWeight != nil, s.batch > 0, s.outPlane > 0, cout > 0 else { return }
        let P = s.outPlane, inSize = s.inChannels * s.inPlane
        let G = min(plan.group, s.batch)
        let direct = s.isPointwise && G == 1
        let nw = workers(s, plan)
        let cols = (0..<nw).map { _ in Workspace(direct || dWeight == nil ? 0 : K * G * P) }
        let dcols = (0..<nw).map { _ in Workspace(direct || dx == nil ? 0 : K * G * P) }
        let gathered = (0..<nw).map { _ in Workspace(G == 1 ? 0 : cout * G * P) }
        // Worker 0 accumulates into dWeight itself, the others into their own partial sums.
        let partials = (0..<nw).map { w in Workspace(w == 0 || dWeight == nil ? 0 : cout * K) }
        var started = [Bool](repeating: false, count: nw)
        started.withUnsafeMutableBufferPointer { startedBuf in
            let startedPtr = startedBuf.baseAddress!
            schedule(s, plan) { gi, w, inside in
                let n0 = gi * G, gn = min(G, s.batch - n0), width = gn * P
                // The output gradient of the group as one [Cout, gn·P] matrix.
                let gm: UnsafePointer<Float>
                if gn == 1 {
                    gm = dout + n0 * cout * P
                } else {
                    let buf = gathered[w].pointer
                    eachSample(gn, channels: cout, parallel: inside) { k, ch in
                        for o in ch { (buf + o * width + k * P).update(from: dout + ((n0 + k) * cout + o) * P, count: P) }
                    }
                    gm = UnsafePointer(buf)
                }
                if let dWeight {
                    let b: UnsafePointer<Float>
                    if direct {
                        b = x + n0 * inSize
                    } else {
                        let col = cols[w].pointer
                        eachSample(gn, channels: s.inChannels, parallel: inside) { k, ch in
                            im2col(x + (n0 + k) * inSize, s, channels: ch, col + k * P, ld: width)
                        }
                        b = UnsafePointer(col)
                    }
                    let acc = w == 0 ? dWeight : partials[w].pointer
                    gemm(inside, transB: true, m: cout, n: K, k: width, a: gm, lda: width, b: b, ldb: width,
                               beta: startedPtr[w] ? 1 : 0, c: acc, ldc: K)
                    startedPtr[w] = true
                }
                if let dx {
                    if direct {
                        gemm(inside, transA: true, m: K, n: P, k: cout, a: weight, lda: K, b: gm, ldb: P,
                                   c: dx + n0 * inSize, ldc: P)
                    } else {
                        let dcol = dcols[w].pointer
                        gemm(inside, transA: true, m: K, n: width, k: cout, a: weight, lda: K, b: gm, ldb: width,
                                   c: dcol, ldc: width)
                        eachSample(gn, channels: s.inChannels, parallel: inside) { k, ch in
                            col2im(dcol + k * P, ld: width, s, channels: ch, dx + (n0 + k) * inSize)
                        }
                    }
                }
            }
        }
        if let dWeight {
            for w in 1..<max(nw, 1) where started[w] {
                let p = partials[w].pointer
                for i in 0..<(cout * K) { dWeight[i] += p[i] }
            }
        }
    }
}
