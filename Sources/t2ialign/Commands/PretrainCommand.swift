import ArgumentParser
import Datasets
import Diffusion
import Foundation
import ShapesWorld

/// `t2ialign pretrain`: trains a text-to-image model on captioned images, from scratch or from a model folder.
struct PretrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pretrain",
        abstract: "Pretrain a text-to-image model (U-Net + text encoder) on captioned images.",
        discussion: """
        The default data is the Shapes world rendered on the fly from its training prompts (the test \
        prompts stay unseen). The run directory gets config.json, metrics.jsonl (one line per step), \
        checkpoint/ (an exact resume point, saved every --checkpoint-every steps and on Ctrl-C) and, at the \
        end, model/ (EMA weights in diffusers' folder layout). Running the same command again resumes.

        --init continues training a model folder's weights instead of starting a fresh --config model (for \
        instance to switch it to --prediction-type v_prediction); the LR schedule, optimizer and EMA start anew.

        Example: t2ialign pretrain --config tiny --steps 20000 --out runs/base
        """)

    @Option(name: .customLong("config"), help: "Model size: tiny, small or medium (see docs/ARCHITECTURE.md); default tiny.")
    var preset: String?
    @Option(name: .customLong("init"), help: "Start from this model folder's weights instead of a fresh --config model.")
    var initModel: String?
    @Option(help: "Run directory (created; resumed when it holds a checkpoint).")
    var out = "runs/pretrain"
    @Option(help: "Optimizer steps.") var steps = 20_000
    @Option(name: .customLong("batch-size"), help: "Images per step.") var batchSize = 16
    @Option(name: .customLong("lr"), help: "Peak learning rate (AdamW).") var learningRate = 5e-4
    @Option(name: .customLong("lr-schedule"), help: "constant, constant_with_warmup or cosine.") var lrSchedule = "cosine"
    @Option(help: "Linear warmup steps.") var warmup = 500
    @Option(name: .customLong("weight-decay")) var weightDecay = 0.01
    @Option(name: .customLong("max-grad-norm"), help: "Global gradient-norm clip.") var maxGradNorm = 1.0
    @Option(name: .customLong("ema-decay"), help: "EMA decay of the saved weights (0 = no EMA).") var emaDecay = 0.999
    @Option(name: .customLong("prompt-dropout"), help: "Probability of training on the empty prompt (for guidance).")
    var promptDropout = 0.1
    @Option(name: .customLong("checkpoint-every")) var checkpointEvery = 500
    @Option(help: "Seed of initialisation, data, noise and timesteps.") var seed: UInt64 = 0
    @Option(name: .customLong("sloppy-fraction"), help: "Share of Shapes images drawn by render-sloppy.")
    var sloppyFraction = 0.1
    @Option(help: "Image size of the Shapes data (must equal the model's sample_size).") var resolution = 32
    @Option(name: .customLong("noise-offset"), help: """
        Offset noise: add this × N(0, 1) per image and channel to ε (diffusers' --noise_offset; 0.1 is common), \
        meant to teach image-wide colour shifts. In the Shapes world it did not make the model follow the \
        background word; v_prediction did (Models/shapes-base/README.md).
        """)
    var noiseOffset = 0.0
    @Option(name: .customLong("prediction-type"), help: """
        What the U-Net learns to predict: epsilon (the noise) or v_prediction (v = √ᾱ·ε − √(1−ᾱ)·x0, which \
        at high noise is the image itself, so global content such as the background must come from the \
        prompt). Default: epsilon for a fresh model, the --init model's own otherwise; with --init it \
        switches the model over (fine-tune long enough for the new output to settle).
        """)
    var predictionType: String?

    func run() throws {
        var config = PretrainingConfig()
        config.steps = steps
        config.batchSize = batchSize
        config.learningRate = learningRate
        config.lrSchedule = lrSchedule
        config.warmupSteps = warmup
        config.weightDecay = weightDecay
        config.maxGradNorm = maxGradNorm
        config.emaDecay = emaDecay
        config.promptDropout = promptDropout
        config.checkpointEvery = checkpointEvery
        config.seed = seed
        config.noiseOffset = noiseOffset != 0 ? noiseOffset : nil  // nil keeps old checkpoints resumable
        config.initModel = initModel
        config.predictionType = predictionType
        try CLIError.wrap {
            if initModel != nil, preset != nil { throw CLIError("give either --init (a model folder to continue) or --config (a fresh model), not both") }
            var model = try initModel.map { try TextToImageModel.load(from: $0) } ?? TextToImageModel(preset: preset ?? "tiny", seed: seed)
            if let predictionType {
                var schedule = model.schedule
                schedule.predictionType = try PredictionType(name: predictionType)
                model = try TextToImageModel(unet: model.unet, textEncoder: model.textEncoder, schedule: schedule)
            }
            let preset = preset ?? "tiny"
            let source = try ShapesPretrainingImages(resolution: resolution, sloppyFraction: sloppyFraction)
            print("pretraining \(initModel.map { "from \($0)" } ?? preset): U-Net \(model.unet.parameterCount) + text encoder \(model.textEncoder.parameterCount) parameters")
            print("data: \(source.summary)")
            let trainer = try Pretrainer(model: model, source: source, config: config, runDirectory: out)
            let command = CommandLine.arguments.dropFirst().joined(separator: " ")
            let finished = try trainer.run { loss, seconds, step in
                ModelCard.pretrained(preset: preset, command: "t2ialign \(command)", config: config, data: source.summary,
                                     predictionType: model.schedule.predictionType,
                                     finalLoss: loss, seconds: seconds, step: step)
            }
            if finished { print("model written to \(trainer.modelPath)") }
        }
    }
}
