import Autograd
import Diffusion
import Files
import Foundation
import Kernels

/// `t2ialign bench model`: times one workload of ../shared/bench/bench.py (fwd, text, sft, dpo, ddim) on the
/// project's code paths, with bench.py's configs, batch and semantics, and reports it as bench.py does: one
/// JSON line of per-iteration wall seconds (median/min/max) and peak RSS from getrusage, plus per-iteration
/// process CPU seconds (all threads), which other load on a shared machine disturbs far less than wall time.
struct ModelBenchmark {
    enum Workload: String, CaseIterable, Sendable {
        case fwd, text, sft, dpo, ddim
    }

    struct Settings: Equatable, Sendable {
        var variant = "small"
        var workload = Workload.fwd
        var threads = 2
        /// fwd/text/sft rows; dpo uses batch/2 pairs, ddim batch/2 images (bench.py's convention).
        var batch = 16
        var warmup = 3
        var runs = 10
        /// ddim: sampler steps and guidance scale.
        var steps = 50
        var guidance: Float = 3
        /// dpo: β of the −0.5·β convention.
        var beta: Float = 5000
        /// sft/dpo: recompute the U-Net's blocks in the backward pass (`UNet2DConditionModel.gradientCheckpointing`).
        var gradientCheckpointing = false

        /// Throws a `ModelBenchmarkError` naming the flag at fault and what to pass instead.
        func validate() throws {
            guard UNetConfig.presets[variant] != nil else {
                throw ModelBenchmarkError.invalid(flag: "--variant", value: variant,
                                                  expected: "one of " + UNetConfig.presets.keys.sorted().joined(separator: ", "))
            }
            guard threads >= 1 else { throw ModelBenchmarkError.invalid(flag: "--threads", value: "\(threads)", expected: "at least 1") }
            guard batch >= 1 else { throw ModelBenchmarkError.invalid(flag: "--batch", value: "\(batch)", expected: "at least 1") }
            if workload == .dpo || workload == .ddim, batch < 2 {
                throw ModelBenchmarkError.invalid(flag: "--batch", value: "\(batch)",
                                                  expected: "at least 2 for \(workload.rawValue) (it uses batch/2 \(workload == .dpo ? "pairs" : "images"))")
            }
            guard warmup >= 0 else { throw ModelBenchmarkError.invalid(flag: "--warmup", value: "\(warmup)", expected: "0 or more") }
            guard runs >= 1 else { throw ModelBenchmarkError.invalid(flag: "--runs", value: "\(runs)", expected: "at least 1") }
            guard steps >= 1, steps <= 1000 else {
                throw ModelBenchmarkError.invalid(flag: "--steps", value: "\(steps)", expected: "between 1 and 1000 (the training timesteps)")
            }
            guard guidance.isFinite else { throw ModelBenchmarkError.invalid(flag: "--guidance", value: "\(guidance)", expected: "a finite number") }
            if gradientCheckpointing, workload != .sft, workload != .dpo {
                throw ModelBenchmarkError.invalid(flag: "--gradient-checkpointing", value: workload.rawValue,
                                                  expected: "a training workload, sft or dpo (inference keeps no activations)")
            }
            guard beta.isFinite, beta > 0 else { throw ModelBenchmarkError.invalid(flag: "--beta", value: "\(beta)", expected: "a positive number") }
        }
    }

    /// The JSON line: bench.py's keys (variant, bench, threads, batch, unet_params, text_params, warmup_s,
    /// times_s, median_s, min_s, max_s, ru_maxrss_mb, dpo_losses), plus `impl`, the CPU times and the
    /// workload knobs that differ by workload.
    struct Result: Codable, Equatable {
        var impl = "t2ialign"
        /// The CPU kernels OpenBLAS ran (`BLAS.coreName`): "Haswell" (AVX2) or "SkylakeX" (AVX-512), ….
        var openblasCore = BLAS.coreName
        var variant: String
        var bench: String
        var threads: Int
        var batch: Int
        var unetParams: Int
        var textParams: Int
        var warmupS: [Double]
        var timesS: [Double]
        var medianS: Double
        var minS: Double
        var maxS: Double
        /// Process CPU seconds (user + system, all threads) per timed iteration.
        var cpuTimesS: [Double]
        var cpuMedianS: Double
        var ruMaxrssMb: Double
        /// The most tensor storage (Storage bytes, MB) alive at once during the timed runs: activations,
        /// gradients, parameters and optimizer state, without scratch buffers, code and libraries.
        var peakTensorMb: Double
        /// MB of buffers the pool mapped per timed iteration: buffers unmapped and mapped again, whose pages the
        /// kernel faults in and zeroes anew (0 once a step's buffers fit in the arenas already mapped).
        var poolMappedMbPerRun: Double
        var steps: Int?
        var guidance: Float?
        var beta: Float?
        var dpoLosses: [Float]?
        var sftLosses: [Float]?
        var gradientCheckpointing: Bool?

        enum CodingKeys: String, CodingKey {
            case impl, variant, bench, threads, batch, steps, guidance, beta, openblasCore = "openblas_core"
            case unetParams = "unet_params", textParams = "text_params", warmupS = "warmup_s", timesS = "times_s"
            case medianS = "median_s", minS = "min_s", maxS = "max_s", cpuTimesS = "cpu_times_s"
            case cpuMedianS = "cpu_median_s", ruMaxrssMb = "ru_maxrss_mb", peakTensorMb = "peak_tensor_mb",
                 poolMappedMbPerRun = "pool_mapped_mb_per_run", dpoLosses = "dpo_losses", sftLosses = "sft_losses"
            case gradientCheckpointing = "gradient_checkpointing"
        }

        /// One line of JSON, keys sorted (what stdout and `--json` get).
        func jsonLine() throws -> String {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return String(decoding: try encoder.encode(self), as: UTF8.self)
        }
    }

    let settings: Settings

    init(settings: Settings) throws {
        try settings.validate()
        self.settings = settings
    }

    /// Builds the workload (model, optimizer, inputs) outside the timed region.
    func makeWorkload() throws -> any ModelWorkload {
        let s = settings
        switch s.workload {
        case .fwd: return try ForwardWorkload(variant: s.variant, batch: s.batch)
        case .text: return try TextWorkload(variant: s.variant, batch: s.batch)
        case .sft: return try SFTWorkload(variant: s.variant, batch: s.batch)
        case .dpo: return try DPOWorkload(variant: s.variant, batch: s.batch, beta: s.beta)
        case .ddim: return try DDIMWorkload(variant: s.variant, batch: s.batch, steps: s.steps, guidance: s.guidance)
        }
    }

    /// Runs `warmup` untimed-in-the-summary iterations, then `runs` timed ones; `progress` gets one line
    /// per iteration. The process must use `settings.threads` cores (`Threading.cores`).
    func run(progress: (String) -> Void = { _ in }) throws -> Result {
        guard Threading.cores == settings.threads else {
            throw ModelBenchmarkError.threadsMismatch(requested: settings.threads, actual: Threading.cores)
        }
        Threading.configure()
        let workload = try makeWorkload()
        workload.model.unet.gradientCheckpointing = settings.gradientCheckpointing
        var warm: [Double] = [], wall: [Double] = [], cpu: [Double] = []
        Storage.resetPeak()
        var mappedBeforeRuns = BufferPool.statistics.mapped
        for i in 0..<(settings.warmup + settings.runs) {
            if i == settings.warmup { mappedBeforeRuns = BufferPool.statistics.mapped }
            let (w, c) = try Self.measure { try workload.step() }
            let isWarmup = i < settings.warmup
            if isWarmup { warm.append(w) } else { wall.append(w); cpu.append(c) }
            let label = isWarmup ? "warm-up \(i + 1)/\(settings.warmup)" : "run \(i - settings.warmup + 1)/\(settings.runs)"
            progress(label + String(format: "  %.3f s wall, %.3f s CPU", w, c))
        }
        let s = settings
        return Result(variant: s.variant, bench: s.workload.rawValue, threads: s.threads, batch: s.batch,
                      unetParams: workload.model.unet.parameterCount,
                      textParams: workload.model.textEncoder.parameterCount,
                      warmupS: warm, timesS: wall, medianS: Self.median(wall), minS: wall.min() ?? .nan,
                      maxS: wall.max() ?? .nan, cpuTimesS: cpu, cpuMedianS: Self.median(cpu),
                      ruMaxrssMb: Self.peakResidentMegabytes(),
                      peakTensorMb: Double(Storage.peakBytes) / (1024 * 1024),
                      poolMappedMbPerRun: Double(BufferPool.statistics.mapped - mappedBeforeRuns) / (1024 * 1024) / Double(max(s.runs, 1)),
                      steps: s.workload == .ddim ? s.steps : nil, guidance: s.workload == .ddim ? s.guidance : nil,
                      beta: s.workload == .dpo ? s.beta : nil,
                      dpoLosses: s.workload == .dpo ? workload.losses : nil,
                      sftLosses: s.workload == .sft ? workload.losses : nil,
                      gradientCheckpointing: s.gradientCheckpointing ? true : nil)
    }

    // MARK: Measuring

    /// Wall and process CPU seconds of one call.
    static func measure(_ body: () throws -> Void) rethrows -> (wall: Double, cpu: Double) {
        let w0 = clock(CLOCK_MONOTONIC), c0 = clock(CLOCK_PROCESS_CPUTIME_ID)
        try body()
        return (clock(CLOCK_MONOTONIC) - w0, clock(CLOCK_PROCESS_CPUTIME_ID) - c0)
    }

    static func clock(_ id: clockid_t) -> Double {
        var ts = timespec()
        clock_gettime(id, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// Python's statistics.median: the middle value, or the mean of the two middle values.
    static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return .nan }
        let s = values.sorted(), n = s.count
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
    }

    /// getrusage's peak resident set size in MB (Linux reports KB), as bench.py computes ru_maxrss_mb.
    static func peakResidentMegabytes() -> Double {
        var usage = rusage()
        // Glibc imports RUSAGE_SELF as an enum case; the call takes its raw Int32.
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Double(usage.ru_maxrss) / 1024
    }

    // MARK: Human-readable summary

    /// A short table of the result (the JSON line carries the same numbers).
    static func table(_ r: Result) -> String {
        func num(_ v: Double) -> String { String(format: "%10.3f", v) }
        var extra = ""
        if let steps = r.steps, let g = r.guidance { extra = ", \(steps) steps, guidance \(g)" }
        if let beta = r.beta { extra = ", β \(beta)" }
        if r.gradientCheckpointing == true { extra += ", gradient checkpointing" }
        var lines = [
            "t2ialign bench model: \(r.variant) \(r.bench), batch \(r.batch)\(extra), \(r.threads) thread(s), "
                + "\(r.warmupS.count) warm-up + \(r.timesS.count) timed run(s)",
            "U-Net \(r.unetParams) parameters, text encoder \(r.textParams) parameters",
            "seconds per iteration      median       min       max",
            "wall                   " + num(r.medianS) + num(r.minS) + num(r.maxS),
            "CPU (all threads)      " + num(r.cpuMedianS) + num(r.cpuTimesS.min() ?? .nan) + num(r.cpuTimesS.max() ?? .nan),
            String(format: "peak RSS (getrusage)   %10.1f MB", r.ruMaxrssMb),
            String(format: "peak tensor storage    %10.1f MB", r.peakTensorMb),
            String(format: "buffers remapped       %10.1f MB per run", r.poolMappedMbPerRun),
        ]
        if let losses = r.dpoLosses ?? r.sftLosses, let first = losses.first, let last = losses.last {
            lines.append(String(format: "loss                   first %.6f, last %.6f", first, last))
        }
        return lines.joined(separator: "\n")
    }
}

enum ModelBenchmarkError: Error, CustomStringConvertible, Equatable {
    case invalid(flag: String, value: String, expected: String)
    case threadsMismatch(requested: Int, actual: Int)

    var description: String {
        switch self {
        case .invalid(let flag, let value, let expected):
            return "\(flag) \(value) is not valid; pass \(expected)"
        case .threadsMismatch(let requested, let actual):
            return "asked for \(requested) thread(s) but the process runs \(actual) (T2I_THREADS was fixed earlier); "
                + "unset T2I_THREADS or set it to \(requested)"
        }
    }
}
