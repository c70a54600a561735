import ArgumentParser
import Datasets
import Diffusion
import Foundation
import NN
import Preference
import ShapesWorld

/// `t2ialign train`: aligns a pretrained model on preference pairs.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Align a pretrained model on preference pairs with Diffusion-DPO, MaPO, DCPO or SFT.",
        discussion: """
        Reads a dataset in the Pick-a-Pic layout (see `t2ialign data --help`); when --data names a folder \
        that does not exist yet, the Shapes world is synthesized there first. The run directory gets \
        config.json (every value used), metrics.jsonl, checkpoint/ (saved every --checkpoint-every steps \
        and on Ctrl-C; running the same command again resumes exactly), model/ and curves.png.

        Defaults follow the reference implementations: --beta 5000 for dpo (the −0.5·β convention), 500 \
        for dcpo, 0.1 for mapo; ties dropped; no prompt dropout except 0.1 for sft.

        Examples:
          t2ialign train --objective dpo --init Models/shapes-base --data cache/shapes --steps 500
          t2ialign train --objective dcpo --captions perturb-medium --out runs/dcpo
        """)

    @Option(help: "dpo, mapo, dcpo or sft.") var objective = "dpo"
    @Option(name: .customLong("init"), help: "Pretrained model folder to start from.") var initModel = "Models/shapes-base"
    @Option(help: "Dataset folder (Pick-a-Pic layout); synthesized when absent.") var data = "cache/shapes"
    @Option(help: "Split to train on.") var split = "train"
    @Option(help: "Run directory (default runs/OBJECTIVE).") var out: String?
    @Option(help: "Objective β (default: dpo 5000, dcpo 500, mapo 0.1).") var beta: Double?
    @Option(name: .customLong("lr"), help: "Peak learning rate (AdamW).") var learningRate = 2e-5
    @Option(name: .customLong("lr-schedule"), help: "constant, constant_with_warmup or cosine.") var lrSchedule = "constant_with_warmup"
    @Option(help: "Linear warmup steps.") var warmup = 50
    @Option(name: .customLong("weight-decay")) var weightDecay = 0.01
    @Option(name: .customLong("batch-size"), help: "Pairs per micro-batch.") var batchSize = 8
    @Option(name: .customLong("gradient-accumulation"), help: "Micro-batches per optimizer step.") var gradientAccumulation = 1
    @Option(name: .customLong("max-grad-norm")) var maxGradNorm = 1.0
    @Option(name: .customLong("prompt-dropout"), help: "p_uncond (default 0, or 0.1 for sft).") var promptDropout: Double?
    @Option(help: "Optimizer steps.") var steps = 500
    @Option var seed: UInt64 = 0
    @Option(name: .customLong("checkpoint-every")) var checkpointEvery = 100
    @Option(name: .customLong("ema-decay"), help: "EMA of the trained weights (0 = off).") var emaDecay = 0.0
    @Option(help: "DCPO captions: dataset, captioning, perturb-weak, perturb-medium, perturb-strong, hybrid.") var captions = "dataset"
    @Option(help: "Only pairs of these users, comma-separated (default: 0, the population user, when the data has one; 'all' for every user).")
    var users: String?
    @Flag(help: "Random horizontal flips.") var flip = false
    @Flag(help: "Skip malformed rows (counted) instead of stopping at the first.") var lenient = false

    func run() throws {
        try CLIError.wrap {
            guard let objective = Objective(rawValue: objective) else {
                throw CLIError("--objective must be one of \(Objective.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            var config = PreferenceTrainingConfig()
            config.objective = objective
            config.beta = beta
            config.learningRate = learningRate
            config.lrSchedule = lrSchedule
            config.warmupSteps = warmup
            config.weightDecay = weightDecay
            config.batchSize = batchSize
            config.gradientAccumulation = gradientAccumulation
            config.maxGradNorm = maxGradNorm
            config.promptDropout = promptDropout
            config.steps = steps
            config.seed = seed
            config.checkpointEvery = checkpointEvery
            config.emaDecay = emaDecay
            config.captions = captions
            config.flip = flip
            config.users = try UserSelection.parse(users)
            try config.validate()

            try DefaultData.ensureShapesDataset(at: data)
            let model = try TextToImageModel.load(from: initModel)
            var options = PairDatasetOptions(lenient: lenient, resolution: model.resolution)
            options.users = config.users.map(Set.init)
            let dataset = try PairDataset(directory: data, split: split, options: options)
            print("data: \(dataset.file): \(dataset.count) pairs used (\(dataset.report))")
            let runDir = out ?? "runs/\(objective.rawValue)"
            let trainer = try PreferenceTrainer(model: model, dataset: dataset, config: config, runDirectory: runDir)
            print("\(objective.rawValue): β \(config.effectiveBeta), lr \(config.learningRate), \(config.steps) steps of \(config.batchSize)×\(config.gradientAccumulation) pairs"
                  + (trainer.reference == nil ? ", no reference network" : ", frozen reference U-Net"))
            let command = "t2ialign " + CommandLine.arguments.dropFirst().joined(separator: " ")
            let finished = try trainer.run { last, seconds in
                AlignedModelCard.text(config: config, command: command, base: initModel, data: dataset.file,
                                      pairs: dataset.count, last: last, seconds: seconds)
            }
            if finished { print("model written to \(trainer.modelPath); curves in \(trainer.curvesPath)") }
        }
    }
}

/// --users: "0,3,7", "all", or absent (the population user 0 — what non-personalized alignment in the
/// Shapes world trains on; datasets without a user 0 should pass "all").
enum UserSelection {
    static func parse(_ text: String?) throws -> [Int]? {
        guard let text else { return [0] }
        if text == "all" { return nil }
        let ids = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !ids.isEmpty, ids.allSatisfy({ $0 != nil }) else {
            throw CLIError("--users takes comma-separated user ids (e.g. 0 or 3,7) or 'all', got '\(text)'")
        }
        return ids.compactMap { $0 }
    }
}

/// The embedded default data: the Shapes world, synthesized on first use.
enum DefaultData {
    static func ensureShapesDataset(at path: String) throws {
        guard !FileManager.default.fileExists(atPath: path) else { return }
        print("\(path) does not exist: synthesizing the Shapes world there (seed 1, default sizes) …")
        let start = Date()
        let summary = try ShapesSynthesizer.synthesize(SynthesisConfig(), to: path) { _, _ in }
        print(String(format: "synthesized %d pairs in %.0f s", summary.rows.values.reduce(0, +), Date().timeIntervalSince(start)))
    }
}
