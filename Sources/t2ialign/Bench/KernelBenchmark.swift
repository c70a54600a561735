import Autograd
import Foundation
import Kernels

/// `t2ialign bench kernels`: GFLOPS of the matmul-class kernels at the U-Net's sizes (batch 16, 32×32 → 8×8
/// maps, 32–192 channels), each next to one cblas_sgemm doing the same FLOPs as the op's natural single GEMM
/// (for conv2d: [Cout × Cin·kh·kw] · [Cin·kh·kw × N·Ho·Wo]). Times are medians. Conv GFLOPS count the direct
/// convolution's FLOPs, also where the automatic plan runs Winograd (which does fewer): effective rates.
/// A second table times im2col and Winograd side by side on the 3×3 stride-1 shapes.
struct KernelBenchmark {
    var batch = 16
    /// Minimum measuring time per entry (seconds); at least 3 runs.
    var minSeconds = 0.25
    /// Also time every conv2d plan (group size × scheduling), to tune `ConvolutionPlan.automatic`.
    var sweep = false
    /// Measure process CPU time instead of wall time: on a machine shared with other work, run with
    /// T2I_THREADS=1 and this to get per-core GFLOPS that the other processes barely disturb.
    var cpuTime = false

    struct Row {
        let kind: String
        let name: String
        let flops: Double
        let seconds: Double
        /// cblas_sgemm at the same FLOP count (GFLOPS), where it applies.
        let reference: Double?
        var gflops: Double { flops / seconds / 1e9 }
    }

    // MARK: Timing

    /// Median seconds of `body` after one warm-up run.
    func time(_ body: () -> Void) -> Double {
        body()
        var samples: [Double] = []
        let start = Self.now(cpu: false)
        while samples.count < 3 || Self.now(cpu: false) - start < minSeconds {
            let t0 = Self.now(cpu: cpuTime)
            body()
            samples.append(Self.now(cpu: cpuTime) - t0)
            if samples.count >= 200 { break }
        }
        samples.sort()
        return samples[samples.count / 2]
    }

    static func now(cpu: Bool) -> Double {
        var ts = timespec()
        clock_gettime(cpu ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// GFLOPS of one row-major cblas_sgemm C[m×n] = A[m×k]·B[k×n] with OpenBLAS's threads on every core.
    func sgemmGflops(m: Int, n: Int, k: Int) -> Double {
        var rng = RNG(seed: 1)
        let a = Tensor.randn([m, k], rng: &rng), b = Tensor.randn([k, n], rng: &rng), c = Tensor(zeros: [m, n])
        let t = Threading.withOpenBLASThreads {
            time { BLAS.sgemm(m: m, n: n, k: k, a: a.data, lda: k, b: b.data, ldb: n, c: c.data, ldc: n) }
        }
        settle()
        return 2 * Double(m) * Double(n) * Double(k) / t / 1e9
    }

    /// After a multi-threaded call OpenBLAS's threads busy-wait ~0.1 s, taking a core from whatever runs
    /// next: wait them out so the following row is not measured against them.
    func settle() { usleep(250_000) }

    // MARK: Workloads

    /// The conv2d shapes of the tiny/small U-Nets (block_out_channels (32, 64, 64) and (64, 128, 128)).
    func convShapes() -> [(String, Conv2dShape)] {
        func c(_ cin: Int, _ cout: Int, _ hw: Int, _ k: Int, _ s: Int) -> Conv2dShape {
            Conv2dShape(batch: batch, inChannels: cin, outChannels: cout, height: hw, width: hw,
                        kernelHeight: k, kernelWidth: k, stride: s, padding: k == 3 ? 1 : 0)
        }
        return [
            ("3×3 s1", c(32, 32, 32, 3, 1)), ("3×3 s1", c(64, 64, 32, 3, 1)), ("3×3 s1", c(192, 64, 32, 3, 1)),
            ("3×3 s1", c(64, 64, 16, 3, 1)), ("3×3 s1", c(128, 128, 16, 3, 1)), ("3×3 s1", c(128, 128, 8, 3, 1)),
            ("3×3 s2", c(32, 32, 32, 3, 2)), ("3×3 s2", c(64, 64, 32, 3, 2)), ("3×3 s2", c(128, 128, 16, 3, 2)),
            ("1×1", c(64, 128, 16, 1, 1)), ("1×1", c(128, 128, 16, 1, 1)), ("1×1", c(128, 128, 8, 1, 1)),
            ("1×1", c(192, 64, 32, 1, 1)),
        ]
    }

    /// cblas_sgemm (OpenBLAS threads) and the library's GEMM (`MatrixMultiplyKernels.gemm`: one block of C per
    /// core, single-threaded BLAS each) at conv-, linear- and attention-like shapes.
    func gemmRows() -> [Row] {
        [(64, batch * 1024, 576), (128, batch * 64, 1152), (batch * 256, 128, 128), (batch * 256, 512, 128),
         (1024, 1024, 1024)].flatMap { m, n, k -> [Row] in
            let ref = sgemmGflops(m: m, n: n, k: k)
            var rng = RNG(seed: 4)
            let a = Tensor.randn([m, k], rng: &rng), b = Tensor.randn([k, n], rng: &rng), c = Tensor(zeros: [m, n])
            let t = time {
                MatrixMultiplyKernels.gemm(m: m, n: n, k: k, a: a.data, lda: k, b: b.data, ldb: n, c: c.data, ldc: n)
            }
            let flops = 2 * Double(m) * Double(n) * Double(k)
            return [Row(kind: "cblas_sgemm", name: "\(m)×\(n)×\(k)", flops: flops, seconds: flops / (ref * 1e9), reference: nil),
                    Row(kind: "gemm (split)", name: "\(m)×\(n)×\(k)", flops: flops, seconds: t, reference: ref)]
        }
    }

    func convRows(_ label: String, _ s: Conv2dShape, plan: ConvolutionPlan? = nil) -> [Row] {
        var rng = RNG(seed: 2)
        let x = Tensor.randn([s.batch, s.inChannels, s.height, s.width], rng: &rng)
        let w = Tensor.randn([s.outChannels, s.inChannels, s.kernelHeight, s.kernelWidth], rng: &rng, std: 0.05)
        let b = Tensor.randn([s.outChannels], rng: &rng)
        let out = Tensor.uninitialized([s.batch, s.outChannels, s.outHeight, s.outWidth])
        let g = Tensor.randn(out.shape, rng: &rng)
        let dx = Tensor.uninitialized(x.shape), dw = Tensor.uninitialized(w.shape), db = Tensor.uninitialized([s.outChannels])
        let fwd = time { ConvolutionKernels.forward(x.data, weight: w.data, bias: b.data, out.data, shape: s, plan: plan) }
        let bwd = time {
            ConvolutionKernels.backward(x.data, weight: w.data, g.data, dx: dx.data, dWeight: dw.data, dBias: db.data,
                                        shape: s, plan: plan)
        }
        let ref = sgemmGflops(m: s.outChannels, n: s.batch * s.outPlane, k: s.patch)
        let name = "\(label) \(s.inChannels)→\(s.outChannels) \(s.height)×\(s.width)" + (plan.map { " [\($0)]" } ?? "")
        return [Row(kind: "conv2d fwd", name: name, flops: s.forwardFlops, seconds: fwd, reference: ref),
                Row(kind: "conv2d bwd", name: name, flops: 2 * s.forwardFlops, seconds: bwd, reference: ref),
                Row(kind: "conv2d f+b", name: name, flops: 3 * s.forwardFlops, seconds: fwd + bwd, reference: ref)]
    }

    /// The 3×3 stride-1 convolutions timed on both paths (the U-Net's, plus its conv_in/conv_out channel
    /// counts, where the automatic choice switches).
    func winogradShapes() -> [Conv2dShape] {
        let unet = convShapes().map(\.1).filter(WinogradKernels.supports)
        return unet + [(4, 32), (32, 4), (16, 16)].map { cin, cout in
            Conv2dShape(batch: batch, inChannels: cin, outChannels: cout, height: 32, width: 32,
                        kernelHeight: 3, kernelWidth: 3, stride: 1, padding: 1)
        }
    }

    /// im2col, Winograd F(2×2, 3×3) and F(4×4, 3×3) on one shape: forward, dx and dW (each a backward with
    /// only that gradient requested), with the automatic plan's other fields. The nine runs alternate within each round, in an order that reverses every
    /// round, so load from other processes hits every path alike; medians in ms, ratios = im2col / Winograd.
    func winogradComparison(_ s: Conv2dShape) -> String {
        var rng = RNG(seed: 5)
        let x = Tensor.randn([s.batch, s.inChannels, s.height, s.width], rng: &rng)
        let w = Tensor.randn([s.outChannels, s.inChannels, 3, 3], rng: &rng, std: 0.05)
        let b = Tensor.randn([s.outChannels], rng: &rng)
        let out = Tensor.uninitialized([s.batch, s.outChannels, s.height, s.width])
        let g = Tensor.randn(out.shape, rng: &rng), dx = Tensor.uninitialized(x.shape), dw = Tensor.uninitialized(w.shape)
        let auto = ConvolutionPlan.automatic(for: s)
        var im2col = auto, f2 = auto, f4 = auto
        im2col.winograd = false
        f2.winograd = true
        f2.winogradTile = 2
        f2.weightGradientTile = 2
        f4.winograd = true
        f4.winogradTile = 4
        f4.weightGradientTile = 4
        func forward(_ p: ConvolutionPlan) -> () -> Void {
            { ConvolutionKernels.forward(x.data, weight: w.data, bias: b.data, out.data, shape: s, plan: p) }
        }
        func dataGradient(_ p: ConvolutionPlan) -> () -> Void {
            { ConvolutionKernels.backward(x.data, weight: w.data, g.data, dx: dx.data, dWeight: nil, dBias: nil, shape: s, plan: p) }
        }
        func weightGradient(_ p: ConvolutionPlan) -> () -> Void {
            { ConvolutionKernels.backward(x.data, weight: w.data, g.data, dx: nil, dWeight: dw.data, dBias: nil, shape: s, plan: p) }
        }
        let runs = [forward(im2col), forward(f2), forward(f4), dataGradient(im2col), dataGradient(f2), dataGradient(f4),
                    weightGradient(im2col), weightGradient(f2), weightGradient(f4)]
        for r in runs { r() }  // warm-up
        var samples = [[Double]](repeating: [], count: runs.count)
        let start = Self.now(cpu: false)
        var round = 0
        while round < 5 || Self.now(cpu: false) - start < 4 * minSeconds {
            let order = round % 2 == 0 ? Array(runs.indices) : runs.indices.reversed()
            for i in order {
                let t0 = Self.now(cpu: cpuTime)
                runs[i]()
                samples[i].append(Self.now(cpu: cpuTime) - t0)
            }
            round += 1
            if round >= 200 { break }
        }
        let ms = samples.map { $0.sorted()[$0.count / 2] * 1e3 }
        func num(_ v: Double, _ width: Int, _ digits: Int) -> String {
            let t = String(format: "%.\(digits)f", v)
            return String(repeating: " ", count: max(0, width - t.count)) + t
        }
        let name = "\(s.inChannels)→\(s.outChannels) \(s.height)×\(s.width)"
        let chosen = auto.winograd ? "  ← automatic: Winograd F(\(auto.winogradTile)×\(auto.winogradTile)), dW F(\(auto.weightGradientTile)×\(auto.weightGradientTile))" : ""
        return name + String(repeating: " ", count: max(0, 16 - name.count))
            + [0, 3, 6].map { i in
                num(ms[i], 9, 2) + num(ms[i + 1], 8, 2) + num(ms[i + 2], 8, 2) + num(ms[i] / ms[i + 1], 6, 2) + num(ms[i] / ms[i + 2], 6, 2)
            }.joined()
            + "  \(round) rounds" + chosen
    }

    var winogradHeader: String {
        "3×3 s1 p1, batch \(batch): im2col vs Winograd F(2×2, 3×3) and F(4×4, 3×3), medians in ms (ratios = im2col / Winograd)\n"
            + "shape            fwd i2c      F2      F4  ×F2  ×F4   dx i2c      F2      F4  ×F2  ×F4   dW i2c      F2      F4  ×F2  ×F4\n"
            + String(repeating: "-", count: 140)
    }

    /// Self-attention B=16, L=256, D=64 and L=64, D=128, and cross-attention to 80 tokens, 4 heads.
    func attentionRows() -> [Row] {
        [(256, 256, 64), (64, 64, 128), (256, 80, 64), (64, 80, 128)].flatMap { lq, lk, d -> [Row] in
            var rng = RNG(seed: 3)
            let q = Tensor.randn([batch, lq, d], rng: &rng), k = Tensor.randn([batch, lk, d], rng: &rng)
            let v = Tensor.randn([batch, lk, d], rng: &rng)
            let g = Tensor.randn([batch, lq, d], rng: &rng)
            let fwd = time { _ = GradMode.withoutGrad { scaledDotProductAttention(query: q, key: k, value: v, heads: 4) } }
            for t in [q, k, v] { t.requiresGrad = true }
            // Forward with the graph, then backward: the backward's time is the difference.
            let both = time {
                let o = scaledDotProductAttention(query: q, key: k, value: v, heads: 4)
                o.backward(g)
                for t in [q, k, v] { t.grad = nil }
            }
            let flops = 4 * Double(batch * lq * lk * d)  // QKᵀ and P·V
            let ref = sgemmGflops(m: batch * lq, n: lk, k: d)
            let name = (lq == lk ? "self" : "cross") + " L=\(lq)→\(lk) D=\(d) 4 heads"
            return [Row(kind: "attention fwd", name: name, flops: flops, seconds: fwd, reference: ref),
                    Row(kind: "attention bwd", name: name, flops: 2 * flops, seconds: max(both - fwd, 1e-9), reference: ref)]
        }
    }

    /// Runs every table section, printing each row as soon as it is measured.
    func run(print emit: (String) -> Void) {
        emit("threads: \(Threading.cores) (T2I_THREADS overrides), batch \(batch), medians of ≥ 3 runs"
             + (cpuTime ? ", process CPU time" : ", wall time"))
        emit(Self.header)
        for r in gemmRows() { emit(Self.format(r)) }
        for (label, s) in convShapes() {
            for r in convRows(label, s) { emit(Self.format(r)) }
            if sweep {
                let auto = ConvolutionPlan.automatic(for: s)
                let winograd = auto.winograd ? [false, true] : [false]
                for group in [1, 2, 4, 8, 16] where group <= s.batch {
                    for perCore in [true, false] {
                        for w in winograd {
                            // im2col rows sweep `group`; Winograd rows sweep `winogradGroup` (dW keeps auto's group).
                            let p = w ? ConvolutionPlan(group: auto.group, perCore: perCore, winograd: true,
                                                        winogradGroup: group)
                                      : ConvolutionPlan(group: group, perCore: perCore)
                            for r in convRows(label, s, plan: p) where r.kind == "conv2d f+b" {
                                emit(Self.format(r) + (p == auto ? "  ← automatic" : ""))
                            }
                        }
                    }
                }
            }
        }
        emit("")
        emit(winogradHeader)
        for s in winogradShapes() { emit(winogradComparison(s)) }
        emit("")
        for r in attentionRows() { emit(Self.format(r)) }
    }

    static let header = "kind           shape                                        ms      GFLOPS  sgemm GFLOPS  ratio\n"
        + String(repeating: "-", count: 96)

    static func format(_ r: Row) -> String {
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
        func num(_ v: Double, _ width: Int, _ digits: Int) -> String {
            let s = String(format: "%.\(digits)f", v)
            return String(repeating: " ", count: max(0, width - s.count)) + s
        }
        var line = pad(r.kind, 15) + pad(r.name, 40) + num(r.seconds * 1e3, 10, 2) + num(r.gflops, 12, 1)
        if let ref = r.reference { line += num(ref, 14, 1) + num(r.gflops / ref, 7, 2) }
        return line
    }
}
