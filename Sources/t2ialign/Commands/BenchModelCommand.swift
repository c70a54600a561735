import ArgumentParser
import Files
import Foundation

extension ModelBenchmark.Workload: ExpressibleByArgument {}

/// `t2ialign bench model`: one workload of the PyTorch baseline (../shared/bench/bench.py) on this package.
struct ModelBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Time a whole workload (fwd, text, sft, dpo, ddim) as the PyTorch baseline bench.py does.",
        discussion: """
        Workloads, with bench.py's configurations: fwd (U-Net forward, batch B), text (text encoder, B prompts), \
        sft (denoising training step, batch B, text encoder trained jointly, AdamW lr 1e-4, clip 1.0), dpo \
        (Diffusion-DPO step on B/2 pairs: shared noise and t per pair, frozen reference U-Net without a graph, \
        β 5000 with the −0.5 factor, AdamW lr 1e-5, clip 1.0), ddim (B/2 images, 50 DDIM steps, guidance 3, \
        i.e. B U-Net rows per step).
        Prints one JSON line on stdout (per-iteration wall seconds, median/min/max, process CPU seconds, peak \
        RSS from getrusage) and a table on stderr. Run one workload per process for a meaningful peak RSS; \
        Scripts/bench_vs_pytorch.sh runs both sides.

        Example:
          t2ialign bench model --variant tiny --bench dpo --threads 2 --json bench.jsonl
        """)

    @Option(help: "Model size: tiny, small or medium (../shared/bench/models.py).") var variant = "small"
    @Option(help: "Workload: fwd, text, sft, dpo or ddim.") var bench = ModelBenchmark.Workload.fwd
    @Option(help: "Cores to use (sets T2I_THREADS for this process).") var threads = 2
    @Option(help: "Rows for fwd/text/sft; dpo uses batch/2 pairs, ddim batch/2 images.") var batch = 16
    @Option(help: "Untimed iterations first.") var warmup = 3
    @Option(help: "Timed iterations.") var runs = 10
    @Option(help: "ddim: sampler steps.") var steps = 50
    @Option(help: "ddim: classifier-free guidance scale.") var guidance: Float = 3
    @Option(help: "dpo: β (with the −0.5 factor).") var beta: Float = 5000
    @Flag(name: .customLong("gradient-checkpointing"),
          help: "sft/dpo: recompute the U-Net's transformer blocks in the backward pass (less memory, their forward pass again).")
    var gradientCheckpointing = false
    @Option(help: "Also append the JSON line to this file.") var json: String?

    var settings: ModelBenchmark.Settings {
        ModelBenchmark.Settings(variant: variant, workload: bench, threads: threads, batch: batch, warmup: warmup,
                                runs: runs, steps: steps, guidance: guidance, beta: beta,
                                gradientCheckpointing: gradientCheckpointing)
    }

    func validate() throws {
        do {
            try settings.validate()
        } catch {
            throw ValidationError(String(describing: error))
        }
    }

    func run() throws {
        try CLIError.wrap {
            // Threading.cores reads T2I_THREADS once, at first use, which is after this point.
            setenv("T2I_THREADS", String(threads), 1)
            let benchmark = try ModelBenchmark(settings: settings)
            if let note = OpenBLASCoreChoice.pinnedCoreNote() { Self.printError(note) }
            let result = try benchmark.run { Self.printError($0) }
            let line = try result.jsonLine()
            print(line)
            Self.printError(ModelBenchmark.table(result))
            // Same encoder settings as jsonLine(), one write(2) per line.
            if let json { try JSONLines.append(result, to: json) }
        }
    }

    static func printError(_ s: String) {
        FileHandle.standardError.write(Data((s + "\n").utf8))
    }
}
