import ArgumentParser
import Foundation

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the speed of the kernels and of whole training/sampling workloads.",
        subcommands: [KernelsBenchCommand.self, ModelBenchCommand.self])
}

/// `t2ialign bench kernels`: a GFLOPS table of GEMM, conv2d and attention at the U-Net's sizes.
struct KernelsBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels",
        abstract: "GFLOPS of GEMM, conv2d (forward/backward) and attention at U-Net sizes, next to cblas_sgemm.",
        discussion: """
        Each conv2d and attention row is compared with one cblas_sgemm doing the same FLOPs as the op's \
        natural single GEMM (ratio = op GFLOPS / sgemm GFLOPS). Set T2I_THREADS to change the core count. \
        Run it on an otherwise idle machine: other processes on the cores distort every number.
        """)

    @Option(help: "Batch size of the conv2d and attention workloads.")
    var batch = 16

    @Option(help: "Minimum measuring time per entry, in seconds (each entry runs at least 3 times).")
    var minSeconds = 0.25

    @Flag(help: "Also time every conv2d plan (samples per GEMM × scheduling), to check the automatic choice.")
    var sweep = false

    @Flag(help: "Time with process CPU time instead of wall time (with T2I_THREADS=1: per-core GFLOPS that other load on a shared machine barely disturbs).")
    var cpuTime = false

    func validate() throws {
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1, got \(batch)") }
        guard minSeconds > 0 else { throw ValidationError("--min-seconds must be positive, got \(minSeconds)") }
    }

    func run() throws {
        let bench = KernelBenchmark(batch: batch, minSeconds: minSeconds, sweep: sweep, cpuTime: cpuTime)
        // Unbuffered, so each row shows as soon as it is measured even when piped.
        bench.run { FileHandle.standardOutput.write(Data(($0 + "\n").utf8)) }
    }
}
